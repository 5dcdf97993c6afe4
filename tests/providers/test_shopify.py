"""Shopify: signatures as Shopify documents them, documented payloads as activities with links."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from connector_support import doc_sources, fixture, one, refused, request, source_from

from inboxbridge.events import EventKind

SHOPIFY_SECRET = "shopify-client-secret-4e5d6c"


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
    tables = doc_sources("shopify")
    assert tables
    for table in tables.values():
        source_from(table)
