"""HTML form bodies (``multipart/form-data`` and ``application/x-www-form-urlencoded``), as providers post them.

Email providers' forms are read by :func:`parse_form`: field values are kept as bytes because a form does not
say their charset (SendGrid says it in a separate ``charsets`` field), and uploaded files are described (name,
type, size) but their bytes are not kept: nothing downstream stores attachment content. Twilio's URL-encoded
forms are read by :func:`form_fields`, every value of every field kept, since Twilio signs them all.
"""

from __future__ import annotations

import email.policy
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qs, parse_qsl

import orjson

from inboxbridge.providers.base import PayloadError, WebhookRequest

__all__ = ["FormData", "FormFile", "flat_form", "form_fields", "form_value", "parse_form"]


@dataclass(frozen=True)
class FormFile:
    """A file uploaded in a multipart form: which field carried it, its name and type, and its size in bytes."""

    field: str
    filename: str | None
    content_type: str | None
    size: int


@dataclass(frozen=True)
class FormData:
    """A parsed form: the first value of each field, and the uploaded files in body order."""

    values: Mapping[str, bytes] = field(default_factory=dict)
    files: tuple[FormFile, ...] = ()

    def text(self, name: str, charset: str = "utf-8") -> str | None:
        """Field ``name`` decoded with ``charset`` (undecodable bytes replaced); ``None`` when absent."""
        value = self.values.get(name)
        if value is None:
            return None
        try:
            return value.decode(charset, errors="replace")
        except LookupError:
            # An unknown charset name from the provider: UTF-8 is the likeliest truth.
            return value.decode("utf-8", errors="replace")

    def json_field(self, name: str) -> Any:
        """Field ``name`` read as JSON (some providers post structured fields so); ``None`` when absent or not JSON."""
        value = self.values.get(name)
        if not value:
            return None
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return None

    def file(self, name: str) -> FormFile | None:
        """The file uploaded in field ``name``, if any."""
        return next((f for f in self.files if f.field == name), None)


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _fix_header_text(value: str | None) -> str | None:
    """Browsers and providers write non-ASCII names as raw UTF-8; the parser keeps them as escaped bytes."""
    if value is None:
        return None
    try:
        return value.encode("utf-8", "surrogateescape").decode("utf-8")
    except UnicodeError:
        return value.encode("utf-8", "surrogateescape").decode("latin-1")


def _parse_urlencoded(body: bytes) -> FormData:
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError as error:
        raise PayloadError(f"the form body is not URL-encoded: byte {error.start} is not ASCII") from None
    values: dict[str, bytes] = {}
    # latin-1 maps each percent-decoded byte to one character, so the original bytes come back unchanged.
    for name, value in parse_qsl(text, keep_blank_values=True, encoding="latin-1"):
        values.setdefault(name.encode("latin-1").decode("utf-8", errors="replace"), value.encode("latin-1"))
    return FormData(MappingProxyType(values), ())


def _part_bytes(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _parse_multipart(content_type: str, body: bytes) -> FormData:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", errors="replace")
    message = BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.get_boundary():
        raise PayloadError("the multipart body has no boundary in its Content-Type header")
    if not message.is_multipart():
        raise PayloadError("the body is not a multipart form: no part follows the boundary")
    values: dict[str, bytes] = {}
    files: list[FormFile] = []
    for part in message.iter_parts():
        name = _fix_header_text(part.get_param("name", header="content-disposition"))  # type: ignore[arg-type]
        if not isinstance(name, str) or not name:
            continue
        filename = _fix_header_text(part.get_filename())
        data = _part_bytes(part)
        if filename is not None:
            files.append(FormFile(name, filename or None, part.get_content_type(), len(data)))
        else:
            values.setdefault(name, data)
    if not values and not files:
        raise PayloadError("the multipart form has no named field: is the boundary right?")
    return FormData(MappingProxyType(values), tuple(files))


def parse_form(content_type: str | None, body: bytes) -> FormData:
    """The form in ``body``, told apart by ``content_type``; raises :class:`PayloadError` for anything else."""
    media_type = _media_type(content_type)
    if media_type == "multipart/form-data":
        return _parse_multipart(content_type or "", body)
    if media_type == "application/x-www-form-urlencoded":
        return _parse_urlencoded(body)
    shown = media_type or "no content type"
    raise PayloadError(f"expected a form (multipart/form-data or application/x-www-form-urlencoded), got {shown}")


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


def form_value(fields: Mapping[str, list[str]], name: str) -> str | None:
    """The first value of field ``name`` in :func:`form_fields`, stripped; ``None`` when absent or blank."""
    values = fields.get(name)
    return (values[0].strip() or None) if values else None


def flat_form(fields: Mapping[str, list[str]]) -> dict[str, str | list[str]]:
    """:func:`form_fields` as an event's raw record: a field's one value as it is, several as a list."""
    return {name: values if len(values) > 1 else values[0] for name, values in fields.items()}
