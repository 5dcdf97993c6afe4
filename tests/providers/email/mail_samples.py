"""The email providers' own samples (tests/providers/fixtures/email/, each cited in its ``.source.json``) and
requests built from them the way each provider posts."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx2
import pytest
from mailgun.security import SecurityGuard

from inboxbridge.events import InboundEvent
from inboxbridge.providers import Source, SourceError, WebhookRequest, build_source, parse_source_config

FIXTURES = Path(__file__).parents[1] / "fixtures" / "email"
RECEIVED_AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TOKEN = "a-url-token-of-some-length-0123456789"
SIGNING_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
FORM = "application/x-www-form-urlencoded"


def sample(name: str) -> Any:
    """The JSON sample ``name``."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


def sample_bytes(name: str) -> bytes:
    """The sample ``name`` stored as the very bytes the provider posts."""
    return (FIXTURES / name).read_bytes()


def request(
    body: bytes, content_type: str, *, query: dict[str, str] | None = None, received_at: datetime = RECEIVED_AT
) -> WebhookRequest:
    """A POST of ``body`` to an email source's webhook URL."""
    return WebhookRequest(
        method="POST",
        url="https://bridge.example/hooks/acme/mail",
        path="/hooks/acme/mail",
        query=query or {},
        headers={"content-type": content_type},
        body=body,
        received_at=received_at,
    )


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    """``fields`` and ``files`` as a multipart form, built by a real HTTP client's encoder; its content type."""
    if files:
        built = httpx2.Request("POST", "https://bridge.example/", data=fields, files=files)
    else:
        # The encoder writes a form without files URL-encoded, unless its fields are given as parts of no file.
        parts = {name: (None, value.encode()) for name, value in fields.items()}
        built = httpx2.Request("POST", "https://bridge.example/", files=parts)
    return built.read(), built.headers["content-type"]


def source(config: dict[str, Any]) -> Source:
    """The email source ``config`` describes, its clock at :data:`RECEIVED_AT`."""
    return build_source("mail", parse_source_config(config), clock=lambda: RECEIVED_AT)


def events(mail: Source, req: WebhookRequest) -> list[InboundEvent]:
    """What a verified request becomes."""
    mail.verify(req)
    return mail.parse(req, tenant="acme")


def one(mail: Source, req: WebhookRequest) -> InboundEvent:
    """The one message a verified request becomes."""
    (event,) = events(mail, req)
    return event


def skipped(mail: Source, req: WebhookRequest) -> str:
    """The reason a verified, valid request is answered 200 with nothing posted (and kept with that reason)."""
    mail.verify(req)
    with pytest.raises(SourceError) as caught:
        mail.parse(req, tenant="acme")
    assert caught.value.status == 200, caught.value
    return caught.value.reason


def mailgun_signed(fields: dict[str, str], now: datetime = RECEIVED_AT) -> dict[str, str]:
    """``fields`` with a fresh ``timestamp`` and its ``signature``, the one Mailgun's own SDK accepts."""
    timestamp = str(int(now.timestamp()))
    signature = hmac.new(SIGNING_KEY.encode(), (timestamp + fields["token"]).encode(), hashlib.sha256).hexdigest()
    assert SecurityGuard.verify_webhook(SIGNING_KEY, fields["token"], timestamp, signature, max_age_seconds=0)
    return {**fields, "timestamp": timestamp, "signature": signature}


def mailgun_form(fields: dict[str, str]) -> WebhookRequest:
    """``fields`` signed and URL-encoded, as Mailgun posts a route's email without attachments."""
    return request(urlencode(mailgun_signed(fields)).encode(), FORM)
