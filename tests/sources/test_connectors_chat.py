"""Intercom and Crisp: signatures as each documents them, documented payloads, direction from the writer."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from connector_support import doc_sources, fixture, one, refused, request, source_from

from inboxbridge.events import AttachmentKind, Direction, EventKind
from inboxbridge.sources.crisp import js_stringify
from inboxbridge.sources.html_text import html_to_text

INTERCOM_SECRET = "intercom-client-secret-1a2b3c"
CRISP_SECRET = "crisp-plugin-signing-secret-9z8y"


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


def crisp_signed(payload: object, stamp: str = "1506985696") -> tuple[bytes, dict[str, str]]:
    """Signed as Crisp's reference says: HMAC-SHA256 of "[timestamp;JSON.stringify(body)]", in hex."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    mac = hmac.new(CRISP_SECRET.encode(), f"[{stamp};{body}]".encode(), hashlib.sha256).hexdigest()
    return body.encode(), {"x-crisp-request-timestamp": stamp, "x-crisp-signature": mac}


def crisp(**extra: object) -> object:
    return source_from({"type": "crisp", "secret": CRISP_SECRET, **extra})


def with_email(payload: dict) -> dict:  # type: ignore[type-arg]
    payload["data"]["user"]["email"] = "visitor@example.com"
    return payload


def test_visitor_message_with_an_email_is_inbound() -> None:
    event = one(crisp(), request(*crisp_signed(with_email(fixture("crisp_message_send")))))
    assert (event.direction, event.email, event.text, event.channel) == (
        Direction.INBOUND,
        "visitor@example.com",
        "Hey :)",
        "Crisp",
    )
    assert event.external_id == "session_36ba3566-9651-4790-afc8-ffedbccc317f:150698569649423"
    assert event.occurred_at.isoformat() == "2017-10-02T23:08:16.616000+00:00"


def test_operator_message_is_outbound_and_file_messages_carry_the_file() -> None:
    payload = with_email(fixture("crisp_message_send"))
    payload["event"], payload["data"]["from"] = "message:received", "operator"
    payload["data"]["email"] = payload["data"]["user"].pop("email")
    payload["data"]["type"] = "file"
    payload["data"]["content"] = {
        "name": "invoice.pdf",
        "url": "https://storage.crisp.chat/x/invoice.pdf",
        "type": "application/pdf",
    }
    event = one(crisp(), request(*crisp_signed(payload)))
    assert event.direction is Direction.OUTBOUND
    assert event.first_name is None
    (file,) = event.attachments
    assert (file.kind, file.filename) == (AttachmentKind.FILE, "invoice.pdf")


def test_documented_crisp_message_has_no_email_and_is_refused_saying_so() -> None:
    reason = refused(crisp().parse, request(*crisp_signed(fixture("crisp_message_send"))), 400)
    assert "names no visitor email" in reason


def test_crisp_signature_over_reencoded_json_and_refusals() -> None:
    payload = with_email(fixture("crisp_message_send"))
    compact, headers = crisp_signed(payload)
    crisp().verify(request(json.dumps(payload, indent=2).encode(), headers))
    assert "does not match" in refused(crisp().verify, request(compact.replace(b"Hey", b"Hoy"), headers), 401)
    del headers["x-crisp-request-timestamp"]
    assert "X-Crisp-Request-Timestamp header is missing" in refused(crisp().verify, request(compact, headers), 401)


def test_crisp_website_hooks_use_a_url_key() -> None:
    source = source_from({"type": "crisp", "verify": "url-key", "key": "k3y-with-entropy"})
    body = json.dumps(with_email(fixture("crisp_message_send"))).encode()
    source.verify(request(body, url="https://bridge.example.com/hooks/acme/crisp?key=k3y-with-entropy"))
    wrong = request(body, url="https://bridge.example.com/hooks/acme/crisp?key=guess")
    assert refused(source.verify, wrong, 401) == 'the "key" URL parameter is wrong'
    assert "is missing" in refused(source.verify, request(body), 401)


def test_crisp_notes_and_other_events_are_ignored() -> None:
    note = with_email(fixture("crisp_message_send"))
    note["data"]["type"] = "note"
    assert crisp().parse(request(json.dumps(note).encode()), tenant="acme") == []
    other = {**fixture("crisp_message_send"), "event": "session:set_email"}
    assert crisp().parse(request(json.dumps(other).encode()), tenant="acme") == []


def test_js_stringify_matches_javascript() -> None:
    assert js_stringify({"a": 1.0, "b": [True, None, "é\n\u0001"], "c": 1e21, "d": 1.5e-7, "e": 1e-6}) == (
        '{"a":1,"b":[true,null,"é\\n\\u0001"],"c":1e+21,"d":1.5e-7,"e":0.000001}'
    )


def test_html_to_text() -> None:
    html = (
        "<p>Hi&nbsp;<b>there</b></p><ul><li>one</li><li>two</li></ul>"
        "<p>a<br>b <a href='mailto:x@y.example'>x@y.example</a></p>"
    )
    assert html_to_text(html) == "Hi there\n\n• one\n• two\n\na\nb x@y.example"
    assert html_to_text("<script>alert(1)</script>ok") == "ok"


def test_documented_configs_are_valid() -> None:
    for name in ("intercom", "crisp"):
        tables = doc_sources(name)
        assert tables
        for table in tables.values():
            source_from(table)
