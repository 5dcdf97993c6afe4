"""The base classes every provider's config and source build on, and the events they make."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, SecretStr, ValidationError, field_validator

from inboxbridge.events import Attachment, InboundEvent
from inboxbridge.phones import normalize_region
from inboxbridge.providers.base import PayloadError
from inboxbridge.providers.helpers.clock import Clock, now

__all__ = [
    "ConnectorConfig",
    "ConnectorSource",
    "PhoneRegionMixin",
    "check_source_name",
    "make_attachment",
    "make_event",
    "required_secret",
]


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


def required_secret(message: str) -> AfterValidator:
    """A validator for a secret field (``Annotated[SecretStr, required_secret(...)]``) that refuses a blank one.

    ``message`` says what the secret should be; like every config error, it never repeats the value.
    """

    def check(value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError(message)
        return value

    return AfterValidator(check)


def check_source_name(name: str) -> str:
    """``name`` if it can name a source; ``ValueError`` otherwise."""
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
