"""Calendly and Shopify: signatures as each documents them, documented payloads as activities with links."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime

import pytest
from connector_support import NOW, doc_sources, fixture, one, refused, request, source_from

from inboxbridge.events import Direction, EventKind

CALENDLY_KEY = "calendly-signing-key-7f3a9c"
SHOPIFY_SECRET = "shopify-client-secret-4e5d6c"


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


def shopify_signed(
    order: object, topic: str = "orders/create", *, secret: str = SHOPIFY_SECRET
) -> tuple[bytes, dict[str, str]]:
    """Signed as Shopify documents it: base64 HMAC-SHA256 of the raw body."""
    body = json.dumps(order).encode()
    mac = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return body, {
        "content-type": "application/json",
        "x-shopify-hmac-sha256": mac,
        "x-shopify-topic": topic,
        "x-shopify-shop-domain": "acme-teapots.myshopify.com",
        "x-shopify-webhook-id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
    }


def shopify(**extra: object) -> object:
    return source_from({"type": "shopify", "secret": SHOPIFY_SECRET, **extra})


def test_order_created_becomes_an_activity_linking_to_the_order() -> None:
    event = one(shopify(), request(*shopify_signed(fixture("shopify_order_created"))))
    assert (event.kind, event.channel, event.email) == (EventKind.ACTIVITY, "Shopify", "jon@example.com")
    assert event.text == "Order #9999 placed: $403.00"
    assert event.activity_url == "https://acme-teapots.myshopify.com/admin/orders/820982911946154508"
    assert event.external_id == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    assert (event.first_name, event.last_name) == ("John", "Smith")


def test_order_fulfilled_and_ignored_topics() -> None:
    event = one(shopify(), request(*shopify_signed(fixture("shopify_order_created"), "orders/fulfilled")))
    assert event.text == "Order #9999 fulfilled"
    paid = request(*shopify_signed(fixture("shopify_order_created"), "orders/paid"))
    assert shopify().parse(paid, tenant="acme") == []


def test_link_uses_the_configured_shop_or_a_shopify_domain_only() -> None:
    body, headers = shopify_signed(fixture("shopify_order_created"))
    configured = shopify(shop_domain="admin.acme.example")
    assert (
        one(configured, request(body, headers)).activity_url
        == "https://admin.acme.example/admin/orders/820982911946154508"
    )
    spoofed = {**headers, "x-shopify-shop-domain": "evil.example.com"}
    assert one(shopify(), request(body, spoofed)).activity_url is None


def test_order_without_email_uses_the_phone_or_is_refused() -> None:
    order = fixture("shopify_order_created")
    order["email"] = order["contact_email"] = None
    order["customer"]["email"] = None
    order["phone"] = "+1 (613) 555-0123"
    assert one(shopify(), request(*shopify_signed(order))).phone == "+16135550123"
    order["phone"] = None
    order["billing_address"]["phone"] = None
    reason = refused(shopify().parse, request(*shopify_signed(order)), 400)
    assert reason.startswith("the order names no customer")


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "the X-Shopify-Hmac-Sha256 header is missing"),
        ("not base64!", "is not a base64 HMAC-SHA256 signature"),
        (base64.b64encode(b"0" * 32).decode(), "does not match the body"),
    ],
)
def test_bad_shopify_signatures(header: str | None, reason: str) -> None:
    body, headers = shopify_signed(fixture("shopify_order_created"))
    del headers["x-shopify-hmac-sha256"]
    if header is not None:
        headers["x-shopify-hmac-sha256"] = header
    assert reason in refused(shopify().verify, request(body, headers), 401)


def test_retried_delivery_keeps_its_id_and_missing_id_falls_back_on_the_order() -> None:
    body, headers = shopify_signed(fixture("shopify_order_created"))
    del headers["x-shopify-webhook-id"]
    assert one(shopify(), request(body, headers)).external_id == "orders/create:820982911946154508"


def test_documented_configs_are_valid() -> None:
    for name in ("calendly", "shopify"):
        tables = doc_sources(name)
        assert tables
        for table in tables.values():
            source_from(table)
