"""Calendly: signatures as Calendly documents them, documented payloads as activities with links."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime

from connector_support import NOW, doc_sources, fixture, one, refused, request, source_from

from inboxbridge.events import Direction, EventKind

CALENDLY_KEY = "calendly-signing-key-7f3a9c"


def calendly_signed(payload: object, *, at: datetime = NOW, key: str = CALENDLY_KEY) -> tuple[bytes, dict[str, str]]:
    """Signed as Calendly documents it: t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">."""
    body = json.dumps(payload).encode()
    stamp = str(int(at.timestamp()))
    mac = hmac.new(key.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return body, {"content-type": "application/json", "calendly-webhook-signature": f"t={stamp},v1={mac}"}


def calendly(**extra: object) -> object:
    return source_from({"type": "calendly", "signing_key": CALENDLY_KEY, **extra})


def test_booking_becomes_an_activity_with_a_link() -> None:
    event = one(calendly(), request(*calendly_signed(fixture("calendly_invitee_created"))))
    assert (event.kind, event.direction, event.channel) == (EventKind.ACTIVITY, Direction.INBOUND, "Calendly")
    assert (event.email, event.first_name, event.last_name) == ("test@example.com", "John", "Doe")
    assert event.text == "Booked: 15 Minute Meeting · Tue 10 Nov 2026 14:15 UTC (invitee in America/New_York)"
    assert event.activity_url == "https://calendly.com/reschedulings/AAAAAAAAAAAAAAAA"
    assert event.external_id == (
        "https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2/invitees/AAAAAAAAAAAAAAAA#invitee.created"
    )


def test_cancellation_is_a_second_activity_with_the_reason() -> None:
    payload = fixture("calendly_invitee_created")
    payload["event"] = "invitee.canceled"
    payload["payload"]["status"] = "canceled"
    payload["payload"]["cancellation"] = {"canceled_by": "John Doe", "reason": "Sick", "canceler_type": "invitee"}
    created = one(calendly(), request(*calendly_signed(fixture("calendly_invitee_created"))))
    canceled = one(calendly(), request(*calendly_signed(payload)))
    assert (
        canceled.text == "Canceled: 15 Minute Meeting · Tue 10 Nov 2026 14:15 UTC (invitee in America/New_York) — Sick"
    )
    assert canceled.idempotency_key() != created.idempotency_key()


def test_calendly_signature_problems() -> None:
    body, headers = calendly_signed(fixture("calendly_invitee_created"))
    assert "matches the body" in refused(calendly().verify, request(body + b" ", headers), 401)
    _, wrong = calendly_signed(fixture("calendly_invitee_created"), key="other")
    assert "wrong secret" in refused(calendly().verify, request(body, wrong), 401)
    old = datetime.fromtimestamp(NOW.timestamp() - 181)
    assert "180 seconds old" in refused(calendly().verify, request(*calendly_signed({"x": 1}, at=old)), 401)
    assert "header is missing" in refused(calendly().verify, request(body, {}), 401)


def test_calendly_other_events_ignored_and_missing_email_refused() -> None:
    routing = {**fixture("calendly_invitee_created"), "event": "routing_form_submission.created"}
    assert calendly().parse(request(json.dumps(routing).encode()), tenant="acme") == []
    payload = fixture("calendly_invitee_created")
    del payload["payload"]["email"]
    assert refused(calendly().parse, request(json.dumps(payload).encode()), 400) == (
        "payload.email is missing: the invitee names no email"
    )


def test_documented_configs_are_valid() -> None:
    tables = doc_sources("calendly")
    assert tables
    for table in tables.values():
        source_from(table)
