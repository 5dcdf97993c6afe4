"""Intercom: signatures as Intercom documents them, documented payloads, direction from the writer."""

from __future__ import annotations

import hashlib
import hmac
import json

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
