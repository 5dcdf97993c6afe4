"""Forms read in time proportional to their size: too many parts or fields refused after one count, before any
part is read; nested multipart parts kept as values, never read into; what legitimate forms carry read as before."""

from __future__ import annotations

import base64
import quopri
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from inboxbridge.providers import PayloadError, WebhookRequest
from inboxbridge.providers.helpers import forms
from inboxbridge.providers.helpers.forms import (
    MAX_FORM_FIELDS,
    MAX_FORM_PARTS,
    MAX_PART_HEADER_BYTES,
    form_fields,
    parse_form,
)

BOUNDARY = b"2f0c9a7e61d84b1c"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY.decode()}"
URLENCODED = "application/x-www-form-urlencoded"


def part(headers: bytes, content: bytes = b"", boundary: bytes = BOUNDARY) -> bytes:
    return b"--" + boundary + b"\r\n" + headers + b"\r\n\r\n" + content + b"\r\n"


def field(name: str, content: bytes = b"", extra: bytes = b"") -> bytes:
    return part(f'Content-Disposition: form-data; name="{name}"'.encode() + extra, content)


def closed(*parts: bytes) -> bytes:
    return b"".join(parts) + b"--" + BOUNDARY + b"--\r\n"


def empty_parts(count: int) -> bytes:
    return closed(*(field("x") for _ in range(count)))


def nested(depth: int, *, same_boundary: bool) -> bytes:
    """One form field whose content is multipart, itself holding multipart, ``depth`` levels down."""
    inner = b'Content-Disposition: form-data; name="leaf"\r\n\r\nbottom'
    for level in range(depth, 0, -1):
        boundary = BOUNDARY if same_boundary else b"level-%d" % level
        inner = (
            b"Content-Type: multipart/mixed; boundary=" + boundary + b"\r\n\r\n"
            b"--" + boundary + b"\r\n" + inner + b"\r\n--" + boundary + b"--"
        )
    return closed(b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="deep"\r\n' + inner + b"\r\n")


@pytest.fixture
def parts_read(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every part the reader looks into, in order."""
    seen: list[bytes] = []
    real = forms._read_part

    def counting(raw: bytes) -> Any:
        seen.append(raw)
        return real(raw)

    monkeypatch.setattr(forms, "_read_part", counting)
    return seen


def test_a_megabyte_of_empty_parts_is_refused_before_any_part_is_read(parts_read: list[bytes]) -> None:
    body = empty_parts(18_000)[: 1 << 20]
    with pytest.raises(PayloadError, match=f"more than {MAX_FORM_PARTS} parts") as caught:
        parse_form(MULTIPART, body)
    assert caught.value.status == 400
    assert parts_read == []


def test_the_part_limit_is_exact(parts_read: list[bytes]) -> None:
    form = parse_form(MULTIPART, empty_parts(MAX_FORM_PARTS))
    assert form.values == {"x": b""}
    assert len(parts_read) == MAX_FORM_PARTS
    with pytest.raises(PayloadError, match=f"more than {MAX_FORM_PARTS} parts"):
        parse_form(MULTIPART, empty_parts(MAX_FORM_PARTS + 1))
    # Cut short of its closing line, a form of one part too many is refused all the same.
    with pytest.raises(PayloadError, match=f"more than {MAX_FORM_PARTS} parts"):
        parse_form(MULTIPART, b"".join(field("x") for _ in range(MAX_FORM_PARTS + 1)))


def test_parts_nested_under_the_same_boundary_are_refused_before_any_part_is_read(parts_read: list[bytes]) -> None:
    with pytest.raises(PayloadError, match=f"more than {MAX_FORM_PARTS} parts"):
        parse_form(MULTIPART, nested(1000, same_boundary=True))
    assert parts_read == []


def test_parts_nested_a_thousand_deep_are_one_value_never_read_into(parts_read: list[bytes]) -> None:
    body = nested(1000, same_boundary=False)
    form = parse_form(MULTIPART, body)
    value = form.values["deep"]
    assert value.startswith(b"--level-1\r\n") and value.endswith(b"--level-1--")
    assert b"bottom" in value
    assert len(parts_read) == 1


def test_a_part_with_too_many_header_bytes_is_refused() -> None:
    long_header = b"X-Padding: " + b"p" * MAX_PART_HEADER_BYTES
    with pytest.raises(PayloadError, match=f"more than {MAX_PART_HEADER_BYTES} bytes of headers"):
        parse_form(MULTIPART, closed(field("a", b"value", b"\r\n" + long_header)))
    # A part of no headers at all, just content, is refused the same way once the content passes the bound.
    headless = b"--" + BOUNDARY + b"\r\n" + b"c" * (MAX_PART_HEADER_BYTES + 1) + b"\r\n"
    with pytest.raises(PayloadError, match="bytes of headers"):
        parse_form(MULTIPART, closed(field("a", b"value"), headless))


def test_a_legitimate_form_reads_as_before_its_nested_multipart_part_kept_as_bytes() -> None:
    attachment = bytes(range(256)) * 40
    inner = b"inner-7d1e"
    mime = (
        b"--" + inner + b"\r\nContent-Type: text/plain\r\n\r\nthe plain text\r\n"
        b"--" + inner + b"\r\nContent-Type: text/html\r\n\r\n<p>the html</p>\r\n--" + inner + b"--"
    )
    body = closed(
        field("from", "Ana Díaz <ana@example.com>".encode()),
        field(
            "subject",
            quopri.encodestring("Café crème, s'il vous plaît".encode()),
            b"\r\nContent-Transfer-Encoding: quoted-printable",
        ),
        field(
            "body", base64.encodebytes("Bonjour, voilà la facture.".encode()), b"\r\nContent-Transfer-Encoding: BASE64"
        ),
        field("alternatives", mime, b"\r\nContent-Type: multipart/alternative; boundary=" + inner),
        field(
            "attachment-1",
            base64.encodebytes(attachment),
            b"; filename*=UTF-8''fa%C3%A7ade%20%E2%82%AC.pdf\r\n"
            b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64",
        ),
        field("attachment-2", b"%PDF", b"; filename*0*=UTF-8''r%C3%A9sum; filename*1=\"\xc3\xa9 2026.pdf\""),
        field("attachment-3", b"GIF89a", b'; filename="plain \\"quoted\\".gif"\r\nContent-Type: Image/GIF'),
        field("attachment-4", b"old", b'\r\nContent-Type: text/plain; name="named-in-type.txt"'),
        b"--" + BOUNDARY + b"\r\nX-Unnamed: 1\r\n\r\nno field name, skipped\r\n",
    )
    form = parse_form(MULTIPART, b"preamble, ignored\r\n" + body + b"epilogue, ignored --" + BOUNDARY)
    assert form.text("from") == "Ana Díaz <ana@example.com>"
    assert form.text("subject") == "Café crème, s'il vous plaît"
    assert form.text("body") == "Bonjour, voilà la facture."
    assert form.values["alternatives"] == mime
    assert [(f.field, f.filename, f.content_type, f.size) for f in form.files] == [
        ("attachment-1", "façade €.pdf", "application/pdf", len(attachment)),
        ("attachment-2", "résumé 2026.pdf", "text/plain", 4),
        ("attachment-3", 'plain "quoted".gif', "image/gif", 6),
        ("attachment-4", "named-in-type.txt", "text/plain", 3),
    ]
    assert set(form.values) == {"from", "subject", "body", "alternatives"}


def _request(body: bytes) -> WebhookRequest:
    return WebhookRequest(
        "POST",
        "https://bridge.example/hooks/acme/sms",
        "/hooks/acme/sms",
        {},
        {"content-type": URLENCODED},
        body,
        received_at=datetime(2026, 12, 1, tzinfo=UTC),
    )


@pytest.fixture
def query_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URL-encoded bodies handed to the standard library's parsers."""
    seen: list[str] = []

    def counting(real: Callable[..., Any]) -> Callable[..., Any]:
        def parse(text: str, *args: Any, **kwargs: Any) -> Any:
            seen.append(text)
            return real(text, *args, **kwargs)

        return parse

    monkeypatch.setattr(forms, "parse_qs", counting(forms.parse_qs))
    monkeypatch.setattr(forms, "parse_qsl", counting(forms.parse_qsl))
    return seen


def test_a_url_encoded_form_of_too_many_fields_is_refused_before_it_is_parsed(query_parses: list[str]) -> None:
    bomb = b"a=1&" * ((1 << 20) // 4)
    with pytest.raises(PayloadError, match=f"more than {MAX_FORM_FIELDS} fields") as caught:
        form_fields(_request(bomb))
    assert caught.value.status == 400
    with pytest.raises(PayloadError, match=f"more than {MAX_FORM_FIELDS} fields"):
        parse_form(URLENCODED, bomb)
    assert query_parses == []


def test_the_field_limit_is_exact(query_parses: list[str]) -> None:
    at_limit = b"&".join(b"f%d=v" % i for i in range(MAX_FORM_FIELDS))
    assert len(form_fields(_request(at_limit))) == MAX_FORM_FIELDS
    assert len(parse_form(URLENCODED, at_limit).values) == MAX_FORM_FIELDS
    with pytest.raises(PayloadError, match=f"more than {MAX_FORM_FIELDS} fields"):
        form_fields(_request(at_limit + b"&one=more"))
    assert len(query_parses) == 2
