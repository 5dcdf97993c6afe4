"""HTML form bodies (``multipart/form-data`` and ``application/x-www-form-urlencoded``), as providers post them.

Email providers' forms are read by :func:`parse_form`: field values are kept as bytes because a form does not
say their charset (SendGrid says it in a separate ``charsets`` field), and uploaded files are described (name,
type, size) but their bytes are not kept: nothing downstream stores attachment content. Twilio's URL-encoded
forms are read by :func:`form_fields`, every value of every field kept, since Twilio signs them all.

Forms arrive before anyone is known to have sent them (Mailgun's signature is a field of its form), so reading
one costs time in proportion to its size, never more: a form of more than :data:`MAX_FORM_PARTS` parts or
:data:`MAX_FORM_FIELDS` fields is refused after one count, before any of it is read; a multipart body is split
on its boundary in one pass; a part's headers are at most :data:`MAX_PART_HEADER_BYTES`; and a part that is itself
multipart is a value like any other, its bytes kept as they came, never read into.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote_to_bytes

import orjson

from inboxbridge.providers.base import PayloadError, WebhookRequest

__all__ = [
    "MAX_FORM_FIELDS",
    "MAX_FORM_PARTS",
    "MAX_PART_HEADER_BYTES",
    "FormData",
    "FormFile",
    "flat_form",
    "form_fields",
    "form_value",
    "parse_form",
]

MAX_FORM_PARTS = 1000
"""The most parts a multipart form may have: providers post a few dozen fields and the email's attachments."""
MAX_FORM_FIELDS = 1000
"""The most fields a URL-encoded form may have (Twilio posts about forty)."""
MAX_PART_HEADER_BYTES = 8192
"""The most bytes of header lines one part of a multipart form may have."""


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


def _refuse_too_many_fields(body: bytes) -> None:
    """Refuse a URL-encoded body of more than :data:`MAX_FORM_FIELDS` fields before it is parsed."""
    # One fast count; the parsers would otherwise build a value for every one of the fields first.
    if body.count(b"&") >= MAX_FORM_FIELDS:
        raise PayloadError(f"the form has more than {MAX_FORM_FIELDS} fields, the most accepted")


def _parse_urlencoded(body: bytes) -> FormData:
    _refuse_too_many_fields(body)
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError as error:
        raise PayloadError(f"the form body is not URL-encoded: byte {error.start} is not ASCII") from None
    values: dict[str, bytes] = {}
    # latin-1 maps each percent-decoded byte to one character, so the original bytes come back unchanged.
    for name, value in parse_qsl(text, keep_blank_values=True, encoding="latin-1"):
        values.setdefault(name.encode("latin-1").decode("utf-8", errors="replace"), value.encode("latin-1"))
    return FormData(MappingProxyType(values), ())


# Header parameters: ``; name=value`` or ``; name="quoted \" value"``, read left to right in one scan. Possessive
# repetition never backtracks into a value, so the scan stays linear whatever the quotes.
_PARAMETER = re.compile(r';[ \t]*([^\s=;"]+)[ \t]*=[ \t]*("(?:[^"\\]|\\.)*+"|[^;]*+)')
_SECTION = re.compile(r"(\d{1,3})(\*?)")
"""RFC 2231 continuations: ``filename*0*=...; filename*1*=...`` (a trailing ``*``: percent-encoded)."""

_Parameters = list[tuple[str, str]]


def _text(raw: bytes) -> str:
    """A header as providers write it: UTF-8 (as browsers send non-ASCII names), else Latin-1."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _unquote(raw: str) -> str:
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace("\\\\", "\\").replace('\\"', '"')
    return value


def _header_parameters(value: str) -> tuple[str, _Parameters]:
    """A header's first token (lower case) and its parameters: names in lower case, values unquoted."""
    token, _, _ = value.partition(";")
    start = len(token)
    return token.strip().lower(), [(name.lower(), _unquote(raw)) for name, raw in _PARAMETER.findall(value, start)]


def _decode_extended(sections: list[tuple[str, bool]]) -> str:
    """RFC 2231 sections joined: ``charset'language'percent-encoded`` first, then continued as is or encoded."""
    first, encoded = sections[0]
    charset = "utf-8"
    if encoded and first.count("'") >= 2:
        charset, _language, first = first.split("'", 2)
        charset = charset.strip() or "utf-8"
    raw = b"".join(
        unquote_to_bytes(value) if is_encoded else value.encode("utf-8")
        for value, is_encoded in [(first, encoded), *sections[1:]]
    )
    try:
        return raw.decode(charset, errors="replace")
    except LookupError:
        # An unknown charset name: UTF-8 is the likeliest truth.
        return raw.decode("utf-8", errors="replace")


def _parameter(parameters: _Parameters, name: str) -> str | None:
    """Parameter ``name``: its RFC 2231 form (``name*=utf-8''...``, or continued over ``name*0*``, ``name*1*``, ...)
    when there is one, as RFC 7578 and RFC 6266 prefer, else its plain form; ``None`` when absent."""
    plain: str | None = None
    extended: str | None = None
    sections: dict[int, tuple[str, bool]] = {}
    prefix = name + "*"
    for key, value in parameters:
        if key == name:
            plain = value if plain is None else plain
        elif key == prefix:
            extended = value if extended is None else extended
        elif key.startswith(prefix) and (section := _SECTION.fullmatch(key, len(prefix))) is not None:
            sections.setdefault(int(section[1]), (value, bool(section[2])))
    if extended is not None:
        return _decode_extended([(extended, True)])
    if 0 in sections:
        ordered: list[tuple[str, bool]] = []
        # Sections count up from 0; one missing ends the value, as RFC 2231 reads it.
        while len(ordered) in sections:
            ordered.append(sections[len(ordered)])
        return _decode_extended(ordered)
    return plain


def _boundary(content_type: str) -> bytes:
    _, parameters = _header_parameters(content_type)
    boundary = (_parameter(parameters, "boundary") or "").rstrip()
    if not boundary:
        raise PayloadError("the multipart body has no boundary in its Content-Type header")
    if not boundary.isascii():
        raise PayloadError("the multipart boundary in the Content-Type header is not ASCII")
    return boundary.encode("ascii")


_LF = ord("\n")
_DELIMITER_END = re.compile(rb"(--)?[ \t]*+(?:\r\n|\n|\Z)")
"""What makes ``--boundary`` at the start of a line a delimiter: ``--`` when it closes the form, then optional
spaces and the end of the line."""


def _too_many_parts() -> PayloadError:
    return PayloadError(f"the multipart form has more than {MAX_FORM_PARTS} parts, the most accepted")


def _split_parts(body: bytes, boundary: bytes) -> list[bytes]:
    """The raw parts between the boundary's delimiter lines (preamble and epilogue left out), in one pass."""
    marker = b"--" + boundary
    # One fast count bounds the parts before any is looked at: a form of many tiny parts is refused at once.
    if body.count(marker) > MAX_FORM_PARTS + 1:
        raise _too_many_parts()
    parts: list[bytes] = []
    start: int | None = None
    closed = False
    at = body.find(marker)
    while at >= 0 and not closed:
        after = at + len(marker)
        end = _DELIMITER_END.match(body, after) if at == 0 or body[at - 1] == _LF else None
        if end is not None:
            if start is not None:
                # The line break before a delimiter belongs to the delimiter, not to the part.
                cut = at - 2 if body[at - 2 : at] == b"\r\n" else at - 1
                parts.append(body[start : max(cut, start)])
            closed = bool(end[1])
            start = end.end()
        at = body.find(marker, after)
    if start is None:
        raise PayloadError("the body is not a multipart form: no part follows the boundary")
    if not closed:
        # No closing delimiter: the form was cut short; what came is read, up to its last line break.
        last = body[start:]
        parts.append(last[:-2] if last.endswith(b"\r\n") else last.removesuffix(b"\n"))
    if len(parts) > MAX_FORM_PARTS:
        raise _too_many_parts()
    return parts


_BLANK_LINE = re.compile(rb"\r?\n\r?\n")


def _split_head(part: bytes) -> tuple[bytes, bytes]:
    """A part's header lines and its content, the headers no longer than :data:`MAX_PART_HEADER_BYTES`."""
    if part[:1] == b"\n" or part[:2] == b"\r\n":
        return b"", part[part.index(b"\n") + 1 :]
    blank = _BLANK_LINE.search(part, 0, MAX_PART_HEADER_BYTES + 4)
    if blank is None and len(part) <= MAX_PART_HEADER_BYTES:
        return part, b""
    if blank is None or blank.start() > MAX_PART_HEADER_BYTES:
        raise PayloadError(
            f"a part of the multipart form has more than {MAX_PART_HEADER_BYTES} bytes of headers, the most accepted"
        )
    return part[: blank.start()], part[blank.end() :]


_PART_HEADERS = {
    name: re.compile(rb"^" + name + rb"[ \t]*:[ \t]*([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)", re.IGNORECASE | re.MULTILINE)
    for name in (b"content-disposition", b"content-type", b"content-transfer-encoding")
}
_FOLD = re.compile(rb"\r?\n")


def _header(head: bytes, name: bytes) -> str | None:
    """The first header ``name`` among a part's header lines, unfolded; ``None`` when absent."""
    found = _PART_HEADERS[name].search(head)
    return None if found is None else _text(_FOLD.sub(b"", found[1])).strip()


def _base64(data: bytes) -> bytes:
    """Base64 read as leniently as mail readers do: line breaks and stray characters skipped, padding added."""
    compact = b"".join(data.split())
    for padded in (compact + b"=" * (-len(compact) % 4), compact + b"=="):
        try:
            return base64.b64decode(padded)
        except binascii.Error:
            continue
    # One character too many to be base64: kept as sent, as mail readers keep it.
    return data


def _decoded(content: bytes, transfer_encoding: str | None) -> bytes:
    encoding = (transfer_encoding or "").lower()
    if encoding == "base64":
        return _base64(content)
    if encoding == "quoted-printable":
        return quopri.decodestring(content)
    return content


@dataclass(frozen=True)
class _Part:
    name: str
    filename: str | None
    """``None`` for a field; the uploaded file's name (possibly empty) for a file."""
    content_type: str
    data: bytes


def _read_part(raw: bytes) -> _Part | None:
    """One part of the form: its field name and file name, its type and its decoded content; ``None`` for a part
    without a field name. A part that is itself multipart is not read into: its bytes are its value."""
    head, content = _split_head(raw)
    disposition = _header(head, b"content-disposition")
    if disposition is None:
        return None
    _, parameters = _header_parameters(disposition)
    name = _parameter(parameters, "name")
    if not name:
        return None
    declared = _header(head, b"content-type")
    media_type, type_parameters = _header_parameters(declared) if declared is not None else ("", [])
    filename = _parameter(parameters, "filename")
    if filename is None:
        # Older mail clients name the file in the Content-Type header.
        filename = _parameter(type_parameters, "name")
    return _Part(
        name=name,
        filename=None if filename is None else filename.strip(),
        content_type=media_type if media_type.count("/") == 1 else "text/plain",
        data=_decoded(content, _header(head, b"content-transfer-encoding")),
    )


def _parse_multipart(content_type: str, body: bytes) -> FormData:
    boundary = _boundary(content_type)
    values: dict[str, bytes] = {}
    files: list[FormFile] = []
    for raw in _split_parts(body, boundary):
        part = _read_part(raw)
        if part is None:
            continue
        if part.filename is not None:
            files.append(FormFile(part.name, part.filename or None, part.content_type, len(part.data)))
        else:
            values.setdefault(part.name, part.data)
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
    _refuse_too_many_fields(request.body)
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
