"""Crisp: signatures as Crisp documents them, Crisp's own payloads, direction from the writer, the conversation as
the customer when the message names no email.

The samples are Crisp's, each cited in the ``.source.json`` file beside it: the message:send Web Hook of Crisp's
Quickstart, and a message:received and a session:set_email assembled from the examples of Crisp's own libraries.
Crisp has one version of its Web Hooks (V1), sent two ways: signed Plugin Hooks and Website Hooks with a URL key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from connector_support import NOW, doc_sources, fixture, one, refused, request, source_from

from inboxbridge.events import AttachmentKind, Direction, EventKind
from inboxbridge.providers.crisp import js_stringify

CRISP_SECRET = "crisp-plugin-signing-secret-9z8y"
STAMP = str(int(NOW.timestamp()))


def crisp_signed(payload: object, stamp: str = STAMP) -> tuple[bytes, dict[str, str]]:
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


def test_crisps_documented_message_names_the_conversation_and_the_nickname() -> None:
    event = one(crisp(), request(*crisp_signed(fixture("crisp_message_send"))))
    assert (event.kind, event.direction, event.text, event.emails) == (
        EventKind.MESSAGE,
        Direction.INBOUND,
        "Hey :)",
        (),
    )
    assert (
        event.customer_ref == "crisp:42286ab3-b29a-4fde-8538-da0ae501d825/session_36ba3566-9651-4790-afc8-ffedbccc317f"
    )
    assert (event.first_name, event.last_name) == ("visitor493603", None)
    assert event.ordering_key == f"acme/ref:{event.customer_ref}"


def test_an_operator_reply_is_outbound_in_the_same_conversation_without_the_operators_name() -> None:
    event = one(crisp(), request(*crisp_signed(fixture("crisp_message_received"))))
    assert (event.direction, event.text, event.first_name, event.emails) == (
        Direction.OUTBOUND,
        "Hey there! Need help?",
        None,
        (),
    )
    assert (
        event.customer_ref == "crisp:8c842203-7ed8-4e29-a608-7cf78a7d2fcc/session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881"
    )
    assert event.external_id == "session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881:524653764345"


def test_a_message_without_email_or_website_is_refused() -> None:
    payload = fixture("crisp_message_send")
    del payload["website_id"], payload["data"]["website_id"]
    assert "names no email and no website_id" in refused(crisp().parse, request(json.dumps(payload).encode()), 400)


@pytest.mark.parametrize(
    ("stamp", "reason"),
    [
        (str(int((NOW - timedelta(days=2)).timestamp())), "more than 300 seconds old"),
        (str(int((NOW + timedelta(minutes=6)).timestamp())), "more than 300 seconds ahead"),
        (str(int((NOW - timedelta(minutes=6)).timestamp() * 1000)), "more than 300 seconds old"),
        ("yesterday", "is not a unix time"),
    ],
)
def test_stale_and_future_signed_requests_are_refused(stamp: str, reason: str) -> None:
    req = request(*crisp_signed(fixture("crisp_message_send"), stamp))
    assert reason in refused(crisp().verify, req, 401)


def test_timestamps_within_the_tolerance_are_accepted_in_seconds_or_milliseconds() -> None:
    crisp().verify(request(*crisp_signed(fixture("crisp_message_send"), str(int(NOW.timestamp()) - 299))))
    crisp().verify(request(*crisp_signed(fixture("crisp_message_send"), str(int(NOW.timestamp() * 1000) + 299_000))))
    lenient = crisp(tolerance_seconds=3 * 86_400)
    lenient.verify(
        request(*crisp_signed(fixture("crisp_message_send"), str(int((NOW - timedelta(days=2)).timestamp()))))
    )


def test_a_token_keypair_needs_both_halves() -> None:
    with pytest.raises(ValueError, match="api_identifier and api_key are a Crisp token keypair"):
        crisp(api_identifier="7c3ef21c-1e04-41ce-8c06-5605c346f73e")


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
    set_email = request(*crisp_signed(fixture("crisp_session_set_email")))
    crisp().verify(set_email)
    assert crisp().parse(set_email, tenant="acme") == []


def test_js_stringify_matches_javascript() -> None:
    assert js_stringify({"a": 1.0, "b": [True, None, "é\n\u0001"], "c": 1e21, "d": 1.5e-7, "e": 1e-6}) == (
        '{"a":1,"b":[true,null,"é\\n\\u0001"],"c":1e+21,"d":1.5e-7,"e":0.000001}'
    )


def test_documented_configs_are_valid() -> None:
    tables = doc_sources("crisp")
    assert tables
    for table in tables.values():
        source_from(table)


@pytest.mark.parametrize(
    ("kind", "content", "text", "image"),
    [
        ("animation", {"url": "https://storage.crisp.chat/x/wave.gif", "type": "image/gif"}, None, True),
        ("audio", {"url": "https://storage.crisp.chat/x/voice.webm", "type": "audio/webm", "duration": 4}, None, False),
        ("picker", {"id": "call-date", "text": "When should we call?", "choices": []}, "When should we call?", None),
    ],
)
def test_other_message_types_of_the_documented_message(
    kind: str, content: dict[str, object], text: str | None, image: bool | None
) -> None:
    payload = fixture("crisp_message_send")
    payload["data"]["type"], payload["data"]["content"] = kind, content
    event = one(crisp(), request(*crisp_signed(payload)))
    assert event.text == text
    if image is not None:
        (attachment,) = event.attachments
        assert attachment.kind is (AttachmentKind.IMAGE if image else AttachmentKind.FILE)
