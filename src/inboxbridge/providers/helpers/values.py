"""Turning the values providers send into event fields.

The ``as_...`` converters read the JSON values that mapping expressions select; each raises ``ValueError`` whose
message completes the sentence "the mapping gave <value>, ...", so the caller can name the field and its
expression in front of it. The pickers below them read the fixed payloads of the named providers.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from posixpath import splitext
from typing import Any
from urllib.parse import urlsplit

import orjson
from pydantic import ValidationError

from inboxbridge.events import Attachment, AttachmentKind
from inboxbridge.phones import normalize_phone
from inboxbridge.providers.base import PayloadError

__all__ = [
    "as_attachments",
    "as_emails",
    "as_id",
    "as_key",
    "as_text",
    "as_time",
    "as_url",
    "customer_phone",
    "describe_type",
    "first_string",
    "object_at",
    "preview",
    "required_object",
    "required_string",
    "split_name",
    "string_at",
    "truncate",
    "unix_time",
]

_NUMERIC = re.compile(r"-?\d{1,20}(\.\d{1,9})?")
# Unix times beyond this many seconds (the year 5138) are read as milliseconds.
_MILLISECONDS_FROM = 1e11
_IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".svg", ".heic", ".heif", ".avif", ".tif", ".tiff"}
)
_MIME_KEYS = ("mimeType", "mime_type", "contentType", "content_type")
_NAME_KEYS = ("filename", "fileName", "file_name", "name")


def preview(value: Any, limit: int = 60) -> str:
    """A short JSON rendering of ``value`` for messages."""
    try:
        text = orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_type(value: Any) -> str:
    """``"an object"``, ``"a list"``, ``"a number"``... for messages about a JSON value."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "a string" if isinstance(value, str) else type(value).__name__


def as_text(value: Any) -> str | None:
    """A string, or a number written out; ``None`` stays ``None``."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return preview(value, limit=64)
    raise ValueError(f"which is {describe_type(value)}, not text")


def as_id(value: Any) -> str | None:
    """A provider id: a string or an integer; blank means none."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    if value is None:
        return None
    raise ValueError(f"which is {describe_type(value)}, not an id (a string or an integer)")


def as_key(value: Any) -> str | None:
    """A single JSON value as the string key it has in a TOML lookup table (``true``, ``3``, ``"chat"``)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return preview(value)
    raise ValueError(f"which is {describe_type(value)}, not a single value")


def as_emails(value: Any) -> tuple[str, ...]:
    """One address or a list of them; empty entries are skipped. Address syntax is checked by the event."""
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    emails: list[str] = []
    for item in items:
        if item is None:
            continue
        if not isinstance(item, str):
            raise ValueError(f"which holds {describe_type(item)}, not an email address")
        if item.strip():
            emails.append(item.strip())
    return tuple(emails)


def as_time(value: Any) -> datetime | None:
    """An ISO 8601 time, or unix seconds or milliseconds as a number or numeric string; naive means UTC."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"which is {describe_type(value)}, not a time")
    number: float | None = None
    if not isinstance(value, str):
        number = float(value)
    elif _NUMERIC.fullmatch(value.strip()):
        number = float(value.strip())
    if number is not None:
        if not math.isfinite(number):
            raise ValueError("which is not a time")
        seconds = number / 1000 if abs(number) >= _MILLISECONDS_FROM else number
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError("which is out of range for a unix time") from None
    try:
        parsed = datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError("which is not a time (ISO 8601, or unix seconds or milliseconds)") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def as_url(value: Any) -> str | None:
    """An absolute http(s) URL; blank means none."""
    text = as_text(value)
    if text is None or not text.strip():
        return None
    if not text.strip().lower().startswith(("https://", "http://")):
        raise ValueError("which is not an http(s) URL")
    return text.strip()


def split_name(full_name: str | None) -> tuple[str | None, str | None]:
    """``"Ada King Lovelace"`` → ``("Ada", "King Lovelace")``: the first word, then the rest."""
    if full_name is None:
        return None, None
    first, _, rest = full_name.strip().partition(" ")
    return first or None, rest.strip() or None


def truncate(text: str | None, limit: int) -> str | None:
    """``text`` cut to ``limit`` characters, the cut marked with an ellipsis."""
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def _first_string(item: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = item.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _dimension(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _attachment_kind(
    declared: str | None, mime_type: str | None, filename: str | None, url: str
) -> AttachmentKind:
    if declared is not None:
        lowered = declared.lower()
        if lowered.startswith("image") or lowered in ("photo", "picture"):
            return AttachmentKind.IMAGE
        if lowered == "file":
            return AttachmentKind.FILE
    if mime_type is not None:
        return AttachmentKind.IMAGE if mime_type.lower().startswith("image/") else AttachmentKind.FILE
    for name in (filename, urlsplit(url).path):
        if name and splitext(name)[1].lower() in _IMAGE_EXTENSIONS:
            return AttachmentKind.IMAGE
    return AttachmentKind.FILE


def _attachment(item: Any, position: int) -> Attachment | None:
    where = f"whose item #{position}"
    if item is None:
        return None
    if isinstance(item, str):
        item = {"url": item}
    if not isinstance(item, dict):
        raise ValueError(f"{where} is {describe_type(item)}, not a URL or an object with a url")
    url = item.get("url")
    if not isinstance(url, str) or not url.strip():
        raise ValueError(f'{where} has no "url"')
    url = url.strip()
    filename = _first_string(item, _NAME_KEYS)
    mime_type = _first_string(item, _MIME_KEYS)
    kind = _attachment_kind(_first_string(item, ("kind",)), mime_type, filename, url)
    try:
        return Attachment(
            kind=kind,
            url=url,
            filename=truncate(filename, 1024),
            mime_type=mime_type if mime_type is None or len(mime_type) <= 255 else None,
            width=_dimension(item.get("width")),
            height=_dimension(item.get("height")),
        )
    except ValidationError as error:
        problem = error.errors()[0]
        field_name = ".".join(str(part) for part in problem["loc"])
        message = str(problem["msg"]).removeprefix("Value error, ")
        raise ValueError(f"{where} has a bad {field_name}: {message}") from None


def as_attachments(value: Any) -> tuple[Attachment, ...]:
    """A list of URLs or objects (url, filename, mimeType / mime_type / contentType, kind), or just one."""
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    found = (_attachment(item, position) for position, item in enumerate(items, start=1))
    return tuple(attachment for attachment in found if attachment is not None)


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


def object_at(data: Any, *path: str) -> dict[str, Any]:
    """The object at ``path`` in nested objects; an empty one when there is none, so reading on is safe."""
    value = data
    for key in path:
        if not isinstance(value, dict):
            return {}
        value = value.get(key)
    return value if isinstance(value, dict) else {}


def required_object(data: dict[str, Any], key: str, *, what: str) -> dict[str, Any]:
    """The object at ``key``, or :class:`PayloadError` saying that ``what`` (``"the webhook"``) has none."""
    value = data.get(key)
    if not isinstance(value, dict):
        raise PayloadError(f'{what} has no "{key}" object')
    return value


def first_string(data: Any, *paths: tuple[str, ...]) -> str | None:
    """The first of ``paths`` that :func:`string_at` finds a value at; ``None`` when none does."""
    for path in paths:
        value = string_at(data, *path)
        if value is not None:
            return value
    return None


def required_string(data: Any, key: str, *, what: str) -> str:
    """:func:`string_at` ``key``, or :class:`PayloadError` saying that ``what`` (``"the event"``) has none."""
    value = string_at(data, key)
    if value is None:
        raise PayloadError(f'{what} has no "{key}"')
    return value


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
