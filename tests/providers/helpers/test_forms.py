"""Form bodies built by a real HTTP client's multipart encoder, read back field by field."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from inboxbridge.providers import PayloadError
from inboxbridge.providers.helpers.forms import parse_form


def encoded(data: dict[str, str], files: dict[str, Any] | None = None) -> tuple[str, bytes]:
    """The content type and body an HTTP client sends for this form."""
    request = httpx2.Request("POST", "https://bridge.example/hooks", data=data, files=files)
    return request.headers["content-type"], request.read()


def test_multipart_fields_and_files() -> None:
    pdf = b"%PDF-1.7\r\n\x00\xff\xfe binary \r\n--not-a-boundary\r\n" * 50
    content_type, body = encoded(
        {"from": "Ana Díaz <ana@example.com>", "text": "line one\r\nline two\n"},
        {
            "attachment1": ("facture-été.pdf", pdf, "application/pdf"),
            "attachment2": ("empty.png", b"", "image/png"),
        },
    )
    form = parse_form(content_type, body)
    assert form.text("from") == "Ana Díaz <ana@example.com>"
    assert form.text("text") == "line one\r\nline two\n"
    assert form.text("missing") is None
    first, second = form.files
    assert (first.field, first.filename, first.content_type, first.size) == (
        "attachment1",
        "facture-été.pdf",
        "application/pdf",
        len(pdf),
    )
    assert (second.filename, second.size) == ("empty.png", 0)
    assert form.file("attachment2") == second


def test_field_in_another_charset_is_decoded_with_it() -> None:
    content_type, body = encoded({"subject": "x"}, {"attachment1": ("a.txt", b"a", "text/plain")})
    body = body.replace(b"\r\n\r\nx\r\n", "\r\n\r\nCafé crème\r\n".encode("iso-8859-1"))
    form = parse_form(content_type, body)
    assert form.text("subject", "iso-8859-1") == "Café crème"
    assert form.text("subject", "no-such-charset") == "Caf\ufffd cr\ufffdme"


def test_urlencoded_form() -> None:
    form = parse_form("application/x-www-form-urlencoded; charset=utf-8", b"a=%C3%A9t%C3%A9&b=&a=second&c=1+2")
    assert form.text("a") == "été"
    assert form.text("b") == ""
    assert form.text("c") == "1 2"
    assert form.files == ()


@pytest.mark.parametrize(
    ("content_type", "body", "reason"),
    [
        ("application/json", b"{}", "expected a form"),
        (None, b"a=1", "no content type"),
        ("multipart/form-data", b"--x\r\n\r\n--x--", "no boundary"),
        ("multipart/form-data; boundary=abc", b"no parts here at all", "no part follows the boundary"),
        ("multipart/form-data; boundary=abc", b"--abc\r\nX-Other: 1\r\n\r\nvalue\r\n--abc--\r\n", "no named field"),
        ("application/x-www-form-urlencoded", "a=é".encode(), "not URL-encoded"),
    ],
)
def test_unreadable_forms_are_refused_with_a_reason(content_type: str | None, body: bytes, reason: str) -> None:
    with pytest.raises(PayloadError, match=reason) as caught:
        parse_form(content_type, body)
    assert caught.value.status == 400
