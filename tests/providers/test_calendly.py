"""Calendly: its published webhook payloads as activities with links, or ignored, or refused.

The payloads are the examples of Calendly's Webhook Payload reference, each cited in the ``.source.json`` file
beside it: invitee created and canceled, no-show, routing form submission, the first (2020) invitee created, and
the two halves of a reschedule as Calendly's reschedule guide describes them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

import pytest
from connector_support import NOW, doc_sources, fixture, one, refused, request, source_from

from inboxbridge.events import Direction, EventKind

CALENDLY_KEY = "calendly-signing-key-7f3a9c"
INVITEE = "https://api.calendly.com/scheduled_events/AAAAAAAAAAAAAAAA/invitees/AAAAAAAAAAAAAAAA"
WHEN = "Sat 24 Aug 2019 14:15 UTC (invitee in America/New_York)"


def calendly_signed(payload: object, *, at: datetime = NOW, key: str = CALENDLY_KEY) -> tuple[bytes, dict[str, str]]:
    """Signed as Calendly documents it: t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">."""
    body = json.dumps(payload).encode()
    stamp = str(int(at.timestamp()))
    mac = hmac.new(key.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return body, {"content-type": "application/json", "calendly-webhook-signature": f"t={stamp},v1={mac}"}


def calendly(**extra: object) -> Any:
    return source_from({"type": "calendly", "signing_key": CALENDLY_KEY, **extra})


def parsed(name: str) -> list[Any]:
    """The events a verified delivery of fixture ``name`` becomes."""
    req = request(*calendly_signed(fixture(name)))
    source = calendly()
    source.verify(req)
    return list(source.parse(req, tenant="acme"))


def test_documented_booking_is_an_activity_with_a_link() -> None:
    event = one(calendly(), request(*calendly_signed(fixture("calendly_invitee_created_example"))))
    assert (event.kind, event.direction, event.channel) == (EventKind.ACTIVITY, Direction.INBOUND, "Calendly")
    # The example has no first_name / last_name: its one name field is split.
    assert (event.email, event.first_name, event.last_name) == ("test@example.com", "John", "Doe")
    assert event.text == f"Booked: 15 Minute Meeting · {WHEN}"
    assert event.activity_url == "https://calendly.com/reschedulings/AAAAAAAAAAAAAAAA"
    assert event.external_id == f"{INVITEE}#invitee.created"
    assert event.occurred_at == datetime.fromisoformat("2020-11-23T17:51:19+00:00")


def test_documented_cancellation_is_a_second_activity_with_the_reason() -> None:
    (created,) = parsed("calendly_invitee_created_example")
    (canceled,) = parsed("calendly_invitee_canceled_example")
    assert canceled.text == f"Canceled: 15 Minute Meeting · {WHEN} — Meeting Conflict"
    assert canceled.idempotency_key() != created.idempotency_key()


@pytest.mark.parametrize("order", [("canceled", "created"), ("created", "canceled")], ids=["cancel-first", "new-first"])
def test_a_reschedule_is_one_line_with_the_new_time(order: tuple[str, str]) -> None:
    lines = [event for half in order for event in parsed(f"calendly_reschedule_invitee_{half}")]
    assert [event.text for event in lines] == [
        "Rescheduled: 15 Minute Meeting → Mon 26 Aug 2019 16:00 UTC (invitee in America/New_York)"
    ]
    assert lines[0].activity_url == "https://calendly.com/reschedulings/BBBBBBBBBBBBBBBB"


def test_the_first_published_payload_without_a_meeting_is_still_a_booking() -> None:
    (event,) = parsed("calendly_invitee_created_2020_example")
    assert (event.text, event.email, event.first_name, event.last_name) == (
        "Booked: meeting",
        "test@example.com",
        "John",
        "Doe",
    )


@pytest.mark.parametrize(
    "name", ["calendly_invitee_no_show_created_example", "calendly_routing_form_submission_created_example"]
)
def test_other_documented_events_are_acknowledged_and_ignored(name: str) -> None:
    assert parsed(name) == []


def test_an_event_can_be_left_out_of_the_configuration() -> None:
    req = request(*calendly_signed(fixture("calendly_invitee_canceled_example")))
    assert calendly(events=["invitee.created"]).parse(req, tenant="acme") == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda body: body.pop("event"), 'the webhook has no "event"'),
        (lambda body: body.pop("payload"), 'the webhook has no "payload" object'),
        (lambda body: body["payload"].pop("email"), "payload.email is missing: the invitee names no email"),
        (
            lambda body: body["payload"].pop("uri"),
            "payload.uri is missing: the invitee cannot be told apart from others",
        ),
        (
            lambda body: body["payload"]["scheduled_event"].update(start_time="soon"),
            "payload.scheduled_event.start_time is not a time",
        ),
        (lambda body: body.update(created_at="today"), "created_at is not a time"),
    ],
)
def test_unreadable_payloads_are_refused_with_the_reason(change: Any, reason: str) -> None:
    body = fixture("calendly_invitee_created_example")
    change(body)
    assert refused(calendly().parse, request(json.dumps(body).encode()), 400) == reason


def test_calendly_signature_problems() -> None:
    body, headers = calendly_signed(fixture("calendly_invitee_created_example"))
    assert "matches the body" in refused(calendly().verify, request(body + b" ", headers), 401)
    _, wrong = calendly_signed(fixture("calendly_invitee_created_example"), key="other")
    assert "wrong secret" in refused(calendly().verify, request(body, wrong), 401)
    old = datetime.fromtimestamp(NOW.timestamp() - 181)
    assert "180 seconds old" in refused(calendly().verify, request(*calendly_signed({"x": 1}, at=old)), 401)
    assert "header is missing" in refused(calendly().verify, request(body, {}), 401)


def test_documented_configs_are_valid() -> None:
    tables = doc_sources("calendly")
    assert tables
    for table in tables.values():
        source_from(table)
