"""Crisp: signatures as Crisp documents them, documented payloads, direction from the writer."""

from __future__ import annotations

import hashlib
import hmac
import json

from connector_support import doc_sources, fixture, one, refused, request, source_from

from inboxbridge.events import AttachmentKind, Direction
from inboxbridge.providers.crisp import js_stringify

CRISP_SECRET = "crisp-plugin-signing-secret-9z8y"


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


def test_documented_configs_are_valid() -> None:
    tables = doc_sources("crisp")
    assert tables
    for table in tables.values():
        source_from(table)
