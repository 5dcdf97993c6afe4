"""Provider connectors end to end: signed provider requests → running service → sandbox Inbox, one per family."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx2
import pytest
import stripe
from twilio.request_validator import RequestValidator

from inboxbridge.sandbox import SandboxServer

from .harness import Inbox, ServiceProcess, free_port, site_id, start_sandbox, texts, wait_until

PUBLIC = "https://bridge.example.com"
TWILIO_TOKEN = "e2e-twilio-auth-token-0123456789"
INTERCOM_SECRET = "e2e-intercom-client-secret"
STRIPE_SECRET = "whsec_e2e_stripe_signing_secret"
BUSINESS = "+14155550100"
TENANTS = ["conn", "phoneall"]
SOURCES = f"""
[tenants.{{t}}.sources.intercom]
type = "intercom"
client_secret = "{INTERCOM_SECRET}"
[tenants.{{t}}.sources.sms]
type = "twilio_sms"
auth_token = "{TWILIO_TOKEN}"
business_numbers = ["{BUSINESS}"]
[tenants.{{t}}.sources.calls]
type = "twilio_voice"
auth_token = "{TWILIO_TOKEN}"
[tenants.{{t}}.sources.stripe]
type = "stripe"
signing_secret = "{STRIPE_SECRET}"
events = ["payment_intent.succeeded"]
"""


@pytest.fixture(scope="module")
def connector_sandbox() -> Iterator[SandboxServer]:
    server = start_sandbox(TENANTS)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def connector_service(
    connector_sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    work = tmp_path_factory.mktemp("connectors")
    port = free_port()
    lines = [
        f'database_url = "sqlite:///{work / "ib.db"}"',
        f"port = {port}",
        # Providers sign the public URL; the service is reached on loopback, as behind a proxy.
        f'public_base_url = "{PUBLIC}"',
        "[wix]",
        f'base_url = "{connector_sandbox.url}"',
        "requests_per_minute = 1000000",
        "[worker]",
        "poll_interval_seconds = 0.05",
        "[policy]",
        'default_phone_region = "US"',
    ]
    for i, tenant in enumerate(TENANTS):
        lines += [f"[tenants.{tenant}.wix]", f'api_key = "key-{tenant}"', f'site_id = "{site_id(i)}"']
        if tenant == "phoneall":
            lines += [f"[tenants.{tenant}.policy]", 'contacts = "all"', 'default_phone_region = "US"']
        lines.append(SOURCES.replace("{t}", tenant))
    config = work / "inboxbridge.toml"
    config.write_text("\n".join(lines) + "\n")
    proc = ServiceProcess(config, port, work / "service.log").start()
    yield proc
    assert proc.stop() in (0, -signal.SIGTERM), (work / "service.log").read_text()[-3000:]


def box(sandbox: SandboxServer, tenant: str) -> Inbox:
    return Inbox(sandbox.url, site_id(TENANTS.index(tenant)))


def contact_with(inbox: Inbox, needle: str) -> dict[str, Any] | None:
    return next((c for c in inbox.contacts() if needle in json.dumps(c["info"])), None)


def messages_for(inbox: Inbox, needle: str, count: int) -> list[dict[str, Any]]:
    def landed() -> bool:
        contact = contact_with(inbox, needle)
        return contact is not None and len(inbox.messages_of(contact["id"])) >= count

    wait_until(landed, what=f"{count} message(s) for {needle}")
    contact = contact_with(inbox, needle)
    assert contact is not None
    return inbox.messages_of(contact["id"])


def post_twilio(service: ServiceProcess, tenant: str, source: str, params: dict[str, str]) -> httpx2.Response:
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(f"{PUBLIC}/hooks/{tenant}/{source}", params)
    return httpx2.post(
        f"{service.url}/hooks/{tenant}/{source}",
        content=urlencode(params).encode(),
        headers={"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature},
        timeout=10,
    )


def new_number() -> str:
    return f"+1415555{uuid.uuid4().int % 10_000:04d}"


def test_chat_intercom_conversation_lands_in_both_directions(
    connector_service: ServiceProcess, connector_sandbox: SandboxServer
) -> None:
    email = f"intercom-{uuid.uuid4().hex[:8]}@example.com"
    customer = {"type": "user", "id": "u1", "name": "Ada Lovelace", "email": email}
    admin = {"type": "admin", "id": "a1", "name": "Ciaran", "email": "team@shop.example.com"}

    def notification(topic: str, n: int, parts: list[dict[str, Any]]) -> bytes:
        item = {
            "type": "conversation",
            "source": {"body": "<p>Is the <b>teapot</b> in stock?</p>", "author": customer},
            "conversation_parts": {"conversation_parts": parts},
        }
        note = {"id": f"notif_{email}_{n}", "topic": topic, "created_at": 1793707100 + n, "data": {"item": item}}
        return json.dumps(note).encode()

    reply = {"part_type": "comment", "body": "<p>It is!</p>", "author": admin, "created_at": 1793707160}
    for body in (
        notification("conversation.user.created", 1, []),
        notification("conversation.admin.replied", 2, [reply]),
    ):
        signature = "sha1=" + hmac.new(INTERCOM_SECRET.encode(), body, hashlib.sha1).hexdigest()
        answer = httpx2.post(
            f"{connector_service.url}/hooks/conn/intercom",
            content=body,
            headers={"content-type": "application/json", "x-hub-signature": signature},
        )
        assert answer.status_code == 202, answer.text
    forged = httpx2.post(
        f"{connector_service.url}/hooks/conn/intercom", content=body, headers={"x-hub-signature": "sha1=" + "0" * 40}
    )
    assert forged.status_code == 401
    messages = messages_for(box(connector_sandbox, "conn"), email, 2)
    assert [texts(m) for m in messages] == ["Is the teapot in stock?", "It is!"]
    assert [m["direction"] for m in messages] == ["PARTICIPANT_TO_BUSINESS", "BUSINESS_TO_PARTICIPANT"]
    assert {m["badges"][0]["text"] for m in messages} == {"Intercom"}


def test_sms_with_a_picture_finds_or_creates_the_contact_by_phone(
    connector_service: ServiceProcess, connector_sandbox: SandboxServer
) -> None:
    number = new_number()
    params = {
        "MessageSid": f"SM{uuid.uuid4().hex}",
        "From": number,
        "To": BUSINESS,
        "Body": "Here is the crack in the lid",
        "NumMedia": "1",
        "MediaUrl0": "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
        "MediaContentType0": "image/jpeg",
    }
    assert post_twilio(connector_service, "conn", "sms", params).status_code == 202
    assert post_twilio(connector_service, "conn", "sms", params).status_code == 200
    inbox = box(connector_sandbox, "conn")
    (message,) = messages_for(inbox, number, 1)
    items = message["content"]["basic"]["items"]
    assert items[0] == {"text": "Here is the crack in the lid"}
    # The picture was posted as an image item; Wix (and the sandbox) keep their own copy of it.
    assert items[1]["image"]["url"].startswith("https://static.wixstatic.com/media/")
    assert message["badges"][0]["text"] == "SMS"
    contact = contact_with(inbox, number)
    assert contact is not None
    assert [p["phone"] for p in contact["info"]["phones"]["items"]] == [number]
    # The next message from the number goes to the same contact.
    again = {**params, "MessageSid": f"SM{uuid.uuid4().hex}", "Body": "Any news?", "NumMedia": "0"}
    assert post_twilio(connector_service, "conn", "sms", again).status_code == 202
    assert [texts(m).strip() for m in messages_for(inbox, number, 2)] == ["Here is the crack in the lid", "Any news?"]
    assert len([c for c in inbox.contacts() if number in json.dumps(c["info"])]) == 1
    unsigned = httpx2.post(f"{connector_service.url}/hooks/conn/sms", content=urlencode(params).encode())
    assert unsigned.status_code == 401


def test_sms_to_a_phone_shared_by_two_contacts_follows_the_policy(
    connector_service: ServiceProcess, connector_sandbox: SandboxServer
) -> None:
    number = new_number()
    inbox = box(connector_sandbox, "phoneall")
    contacts = [
        {"info": {"name": {"first": name}, "phones": {"items": [{"tag": "MOBILE", "phone": number}]}}}
        for name in ("Older", "Newer")
    ]
    seeded = httpx2.post(
        f"{connector_sandbox.url}/_sandbox/seed",
        json={"sites": [{"siteId": inbox.site, "apiKeys": ["key-phoneall"], "contacts": contacts}]},
    )
    assert seeded.status_code == 200, seeded.text
    ids = [c["id"] for c in seeded.json()["contacts"]]
    national = f"({number[2:5]}) {number[5:8]}-{number[8:]}"
    params = {"MessageSid": f"SM{uuid.uuid4().hex}", "From": national, "To": BUSINESS, "Body": "hello both"}
    assert post_twilio(connector_service, "phoneall", "sms", params).status_code == 202
    wait_until(lambda: all(len(inbox.messages_of(c)) == 1 for c in ids), what="both contacts' messages")
    assert len([c for c in inbox.contacts() if number in json.dumps(c["info"])]) == 2


def test_a_contact_typed_in_national_format_in_wix_gets_the_sms_of_that_number(
    connector_service: ServiceProcess, connector_sandbox: SandboxServer
) -> None:
    """Wix keeps "(415) 555-0123" as typed with its country and derives +14155550123; an SMS from that number
    lands in that contact's conversation, and no second contact is created."""
    number = new_number()
    inbox = box(connector_sandbox, "conn")
    national = f"({number[2:5]}) {number[5:8]}-{number[8:]}"
    typed = {"tag": "MOBILE", "phone": national, "countryCode": "US"}
    seeded = httpx2.post(
        f"{connector_sandbox.url}/_sandbox/seed",
        json={
            "sites": [
                {
                    "siteId": inbox.site,
                    "apiKeys": ["key-conn"],
                    "contacts": [{"info": {"name": {"first": "Typed"}, "phones": {"items": [typed]}}}],
                }
            ]
        },
    )
    assert seeded.status_code == 200, seeded.text
    [contact_id] = [c["id"] for c in seeded.json()["contacts"]]
    params = {"MessageSid": f"SM{uuid.uuid4().hex}", "From": number, "To": BUSINESS, "Body": "it is me"}
    assert post_twilio(connector_service, "conn", "sms", params).status_code == 202
    wait_until(lambda: len(inbox.messages_of(contact_id)) == 1, what="the message in the typed contact's conversation")
    assert (
        len([c for c in inbox.contacts() if national in json.dumps(c["info"]) or number in json.dumps(c["info"])]) == 1
    )


def test_call_log_lands_as_an_activity_with_the_recording(
    connector_service: ServiceProcess, connector_sandbox: SandboxServer
) -> None:
    number = new_number()
    sid = f"CA{uuid.uuid4().hex}"
    base = {"CallSid": sid, "From": number, "To": BUSINESS, "Direction": "inbound"}
    ringing = post_twilio(connector_service, "conn", "calls", {**base, "CallStatus": "ringing"})
    assert (ringing.status_code, ringing.headers["content-type"]) == (200, "text/xml; charset=utf-8")
    assert ringing.text == '<?xml version="1.0" encoding="UTF-8"?><Response />'
    completed = {
        **base,
        "CallStatus": "completed",
        "CallDuration": "192",
        "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
    }
    assert post_twilio(connector_service, "conn", "calls", completed).status_code == 202
    (message,) = messages_for(box(connector_sandbox, "conn"), number, 1)
    assert message["content"]["minimal"]["text"] == "Call · 3 min 12 s"
    assert message["content"]["minimal"]["url"] == completed["RecordingUrl"]
    assert message["badges"][0]["text"] == "Call"


def test_stripe_payment_lands_as_an_activity_and_other_types_are_ignored(
    connector_service: ServiceProcess, connector_sandbox: SandboxServer, tmp_path: Path
) -> None:
    email = f"stripe-{uuid.uuid4().hex[:8]}@example.com"

    def post(event_type: str) -> httpx2.Response:
        intent = {"id": "pi_123", "amount_received": 4200, "currency": "eur", "receipt_email": email}
        event = {
            "id": f"evt_{uuid.uuid4().hex}",
            "type": event_type,
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": intent},
        }
        body = json.dumps(event)
        header = stripe.WebhookSignature.generate_signature_header(body, STRIPE_SECRET)
        return httpx2.post(
            f"{connector_service.url}/hooks/conn/stripe",
            content=body.encode(),
            headers={"content-type": "application/json", "stripe-signature": header},
        )

    ignored = post("customer.created")
    assert (ignored.status_code, ignored.json()["ignored"]) == (200, True)
    assert post("payment_intent.succeeded").status_code == 202
    (message,) = messages_for(box(connector_sandbox, "conn"), email, 1)
    assert message["content"]["minimal"]["text"] == "Payment received: €42.00"
    assert message["content"]["minimal"]["url"] == "https://dashboard.stripe.com/test/payments/pi_123"
    assert message["badges"][0]["text"] == "Stripe"
    shopify_like = base64.b64encode(b"x").decode()
    forged = httpx2.post(
        f"{connector_service.url}/hooks/conn/stripe", content=b"{}", headers={"stripe-signature": shopify_like}
    )
    assert forged.status_code == 401
