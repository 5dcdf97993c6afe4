"""What the provider connectors share: their config base, reading JSON and form bodies, picking values."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qs

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from inboxbridge.events import Attachment, InboundEvent
from inboxbridge.phones import normalize_phone, normalize_region
from inboxbridge.sources.base import PayloadError, WebhookRequest

__all__ = [
    "Clock",
    "ConnectorConfig",
    "check_source_name",
    "customer_phone",
    "form_fields",
    "json_object",
    "make_attachment",
    "make_event",
    "now",
    "string_at",
    "unix_time",
]

Clock = Callable[[], datetime]
"""Where a connector reads the current time (signature timestamps); injectable for tests."""


class ConnectorConfig(BaseModel):
    """The base of every provider's config: unknown keys are refused, and errors never repeat the input."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class PhoneRegionMixin(BaseModel):
    """A connector setting for numbers written without a country code."""

    default_region: str | None = None
    """ISO country code (e.g. "US") for national numbers; unset, every number needs its +country code."""

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        return normalize_region(value)


def now() -> datetime:
    """The wall clock, timezone-aware."""
    return datetime.now(UTC)


def check_source_name(name: str) -> str:
    """``name`` if it can name a source; ``ValueError`` otherwise (as the generic source says it)."""
    if not name.strip() or len(name) > 128:
        raise ValueError("a source name must have 1 to 128 characters")
    return name


ConfigT = TypeVar("ConfigT", bound=BaseModel)


class ConnectorSource(Generic[ConfigT]):
    """What every provider's source shares: its name, its configuration and the clock timestamps are checked by."""

    def __init__(self, name: str, config: ConfigT, *, clock: Clock | None = None) -> None:
        self._name = check_source_name(name)
        self._config = config
        self._clock = clock or now

    @property
    def name(self) -> str:
        """The source's name within its tenant."""
        return self._name

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self._name!r})"


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; :class:`PayloadError` with the reason otherwise."""
    if not body.strip():
        raise PayloadError("body is not valid JSON: the body is empty")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise PayloadError(f"body is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise PayloadError("body is not a JSON object")
    return data


def form_fields(request: WebhookRequest) -> dict[str, list[str]]:
    """An ``application/x-www-form-urlencoded`` body: every field with all its values, blanks kept."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and content_type != "application/x-www-form-urlencoded":
        raise PayloadError(f"body is {content_type}, not the form (application/x-www-form-urlencoded) expected")
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError("body is not UTF-8 form data") from None
    try:
        return parse_qs(text, keep_blank_values=True, strict_parsing=bool(text), errors="strict")
    except (ValueError, UnicodeDecodeError):
        raise PayloadError("body is not form data (name=value pairs joined with &)") from None


def string_at(data: Any, *path: str) -> str | None:
    """The non-blank string (or integer, as text) at ``path`` in nested objects; ``None`` otherwise."""
    value = data
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def unix_time(value: Any) -> datetime | None:
    """Unix seconds (int, float or numeric text) as an aware time; ``None`` when absent or not a time."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        seconds = float(value)
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


_NATIONAL = re.compile(r"[0-9 ().\-]{5,32}")


def customer_phone(raw: str, region: str | None, *, field: str) -> str:
    """``raw`` in E.164, or :class:`PayloadError` naming ``field`` and why it cannot be read.

    A national number with no region to read it in is kept as written: the pipeline reads it in the tenant's
    ``policy.default_phone_region`` when it looks the contact up.
    """
    try:
        return normalize_phone(raw, region)
    except ValueError as error:
        if region is None and _NATIONAL.fullmatch(raw.strip()) and sum(c.isdigit() for c in raw) >= 5:
            return raw.strip()
        raise PayloadError(f"{field}: {error}") from None


def _refusal(what: str, error: ValidationError) -> PayloadError:
    problem = error.errors()[0]
    where = ".".join(str(part) for part in problem["loc"])
    message = str(problem["msg"]).removeprefix("Value error, ")
    return PayloadError(f"{what} cannot be read: {where + ': ' if where else ''}{message}")


def make_event(what: str, **fields: Any) -> InboundEvent:
    """An :class:`InboundEvent` of ``fields``; a value the event refuses is a :class:`PayloadError` about ``what``."""
    try:
        return InboundEvent(**fields)
    except ValidationError as error:
        raise _refusal(what, error) from None


def make_attachment(what: str, **fields: Any) -> Attachment:
    """An :class:`Attachment` of ``fields``; a value it refuses is a :class:`PayloadError` about ``what``."""
    try:
        return Attachment(**fields)
    except ValidationError as error:
        raise _refusal(what, error) from None
