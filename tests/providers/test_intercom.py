"""Intercom: signatures as Intercom documents them, Intercom's own samples, direction from the writer.

The samples, each cited in the ``.source.json`` file beside it: the conversations of Intercom's OpenAPI
descriptions (API 2.11 and 2.14) in its documented notification envelope, the conversation.user.created
notification of its Ruby SDK and the user.created one of its Java SDK (the first API versions' shape), and the
ping Intercom sends to test a subscription.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from connector_support import doc_sources, fixture, one, refused, request, source_from

from inboxbridge.events import AttachmentKind, Direction, EventKind
from inboxbridge.providers.helpers.html_text import html_to_text

INTERCOM_SECRET = "intercom-client-secret-1a2b3c"


def intercom_signed(payload: object, secret: str = INTERCOM_SECRET) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    digest = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return body, {"content-type": "application/json", "x-hub-signature": f"sha1={digest}"}


def intercom(**extra: object) -> object:
    return source_from({"type": "intercom", "client_secret": INTERCOM_SECRET, **extra})


def test_customer_starting_a_conversation_is_an_inbound_message_in_plain_text() -> None:
    event = one(intercom(), request(*intercom_signed(fixture("intercom_conversation_user_created"))))
    assert (event.kind, event.direction, event.channel) == (EventKind.MESSAGE, Direction.INBOUND, "Intercom")
    assert (event.email, event.first_name, event.last_name) == ("ada@example.com", "Ada", "Lovelace")
    assert event.text == "Hi, is the blue teapot back in stock?\n\nThanks!"
    assert event.external_id == "notif_ccd8a4d0-f965-11e3-a367-c779cae3e1b3"


def test_teammate_reply_is_outbound_to_the_conversation_customer() -> None:
    event = one(intercom(), request(*intercom_signed(fixture("intercom_conversation_admin_replied"))))
    assert event.direction is Direction.OUTBOUND
    assert event.email == "ada@example.com"
    assert event.text == "It is! See the teapot (https://shop.example.com/teapot)."
    (image,) = event.attachments
    assert (image.kind, image.filename, image.width) == (AttachmentKind.IMAGE, "teapot.png", 640)


def test_customer_reply_is_inbound() -> None:
    payload = fixture("intercom_conversation_admin_replied")
    payload["topic"] = "conversation.user.replied"
    part = payload["data"]["item"]["conversation_parts"]["conversation_parts"][0]
    part["author"] = {"type": "user", "id": "5ba6", "name": "Ada Lovelace", "email": "ada@example.com"}
    event = one(intercom(), request(*intercom_signed(payload)))
    assert event.direction is Direction.INBOUND


def test_other_topics_and_ping_are_ignored() -> None:
    for topic in ("ping", "conversation.admin.closed", "contact.created"):
        payload = {**fixture("intercom_conversation_user_created"), "topic": topic}
        assert intercom().parse(request(*intercom_signed(payload)), tenant="acme") == []
    only_created = intercom(topics=["conversation.user.created"])
    replied = request(*intercom_signed(fixture("intercom_conversation_admin_replied")))
    assert only_created.parse(replied, tenant="acme") == []


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "the X-Hub-Signature header is missing"),
        ("sha256=00", 'does not start with "sha1="'),
        ("sha1=xyz", "is not a hex HMAC-SHA1 signature"),
        ("sha1=" + "0" * 40, "does not match the body"),
    ],
)
def test_bad_intercom_signatures(header: str | None, reason: str) -> None:
    body, _ = intercom_signed(fixture("intercom_conversation_user_created"))
    headers = {} if header is None else {"x-hub-signature": header}
    assert reason in refused(intercom().verify, request(body, headers), 401)


def test_intercom_notification_without_a_customer_email_is_refused() -> None:
    payload = fixture("intercom_conversation_user_created")
    del payload["data"]["item"]["source"]["author"]["email"]
    reason = refused(intercom().parse, request(*intercom_signed(payload)), 400)
    assert reason.startswith("the conversation.user.created notification names no customer email")


def test_html_to_text() -> None:
    html = (
        "<p>Hi&nbsp;<b>there</b></p><ul><li>one</li><li>two</li></ul>"
        "<p>a<br>b <a href='mailto:x@y.example'>x@y.example</a></p>"
    )
    assert html_to_text(html) == "Hi there\n\n• one\n• two\n\na\nb x@y.example"
    assert html_to_text("<script>alert(1)</script>ok") == "ok"


def test_documented_configs_are_valid() -> None:
    tables = doc_sources("intercom")
    assert tables
    for table in tables.values():
        source_from(table)


def parsed(payload: Any, **config: object) -> list[Any]:
    """The events a signed, verified delivery of ``payload`` becomes."""
    source: Any = intercom(**config)
    req = request(*intercom_signed(payload))
    source.verify(req)
    return list(source.parse(req, tenant="acme"))


def test_first_api_versions_conversation_opens_with_conversation_message() -> None:
    """Before API 2.0 a conversation opened with conversation_message (Intercom's Ruby SDK sample)."""
    (event,) = parsed(fixture("intercom_conversation_user_created_ruby_sdk"))
    assert (event.kind, event.direction, event.channel) == (EventKind.MESSAGE, Direction.INBOUND, "Intercom")
    assert (event.email, event.first_name, event.last_name) == ("bill@bill.bill", "Kill", "Bill")
    assert event.text == "An important message"
    assert event.external_id == "notif_123456-56465-546546"
    assert event.occurred_at == datetime(2014, 9, 10, 7, 48, 13, tzinfo=UTC)


def test_current_api_customer_reply_lands_from_the_part_author() -> None:
    """API 2.11: the customer replies to a teammate-started conversation; only the part names their email."""
    (event,) = parsed(fixture("intercom_2_11_user_replied"))
    assert (event.direction, event.email, event.first_name, event.last_name) == (
        Direction.INBOUND,
        "joe@bloggs.com",
        "Joe",
        "Bloggs",
    )
    assert event.text == "Thanks again :)"
    assert event.occurred_at == datetime.fromtimestamp(1719492850, tz=UTC)


def test_teammate_reply_names_the_customer_who_wrote_earlier_in_the_parts() -> None:
    """A teammate answers in a teammate-started conversation (API 2.x lists its contacts by id only): the
    customer is the one whose reply the notification carries."""
    payload = fixture("intercom_2_11_user_replied")
    teammate = fixture("intercom_2_14_admin_replied")["data"]["item"]["conversation_parts"]["conversation_parts"][0]
    payload["topic"] = "conversation.admin.replied"
    payload["data"]["item"]["conversation_parts"]["conversation_parts"].append(teammate)
    (event,) = parsed(payload)
    assert (event.direction, event.email, event.text) == (Direction.OUTBOUND, "joe@bloggs.com", "Okay!")


def test_teammate_reply_without_any_customer_email_is_refused_with_the_reason() -> None:
    """API 2.14's sample: a teammate-started conversation and a teammate's comment; nobody in it has an email."""
    reason = refused(intercom().parse, request(*intercom_signed(fixture("intercom_2_14_admin_replied"))), 400)
    assert reason.startswith("the conversation.admin.replied notification names no customer email")
    assert "listed by id only" in reason


def test_internal_notes_never_land() -> None:
    note = fixture("intercom_2_11_admin_noted")
    assert parsed(note) == []
    # Even inside a reply notification, a note is never taken for the teammate's reply.
    reply = fixture("intercom_conversation_user_created_ruby_sdk")
    reply["topic"] = "conversation.admin.replied"
    reply["data"]["item"]["conversation_parts"]["conversation_parts"] = note["data"]["item"]["conversation_parts"][
        "conversation_parts"
    ]
    reason = refused(intercom().parse, request(*intercom_signed(reply)), 400)
    assert reason == (
        "the conversation.admin.replied notification has no teammate reply with text or attachments in its "
        "conversation_parts (teammates' notes are never synced)"
    )


@pytest.mark.parametrize("name", ["intercom_2_11_admin_closed", "intercom_ping", "intercom_user_created_java_sdk"])
def test_other_documented_notifications_are_acknowledged_and_ignored(name: str) -> None:
    assert parsed(fixture(name)) == []


def test_a_reply_notification_without_the_reply_is_refused() -> None:
    payload = fixture("intercom_2_11_user_replied")
    payload["data"]["item"]["conversation_parts"]["conversation_parts"] = []
    reason = refused(intercom().parse, request(*intercom_signed(payload)), 400)
    assert reason.startswith("the conversation.user.replied notification has no customer reply with text")
