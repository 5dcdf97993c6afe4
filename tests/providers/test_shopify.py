"""Shopify: its published sample orders and delivery headers, as activities with links, or ignored, or refused.

The orders are Shopify's own samples, each cited in the ``.source.json`` file beside it: the orders/create sample
of the current webhook reference (API 2026-07) and the one of API 2022-04, from before deliveries carried
``X-Shopify-Event-Id``. The headers below are the examples of Shopify's webhook reference.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

import pytest
from connector_support import doc_sources, fixture, one, refused, request, source_from

from inboxbridge.events import Direction, EventKind

SHOPIFY_SECRET = "shopify-client-secret-4e5d6c"
CURRENT = "shopify_orders_create_2026_07"
OLDER = "shopify_orders_create_2022_04"

# The example delivery of Shopify's webhook reference, API 2026-07 ("Headers").
HEADERS_2026_07 = {
    "x-shopify-shop-domain": "snowdevil.myshopify.com",
    "x-shopify-api-version": "2026-07",
    "x-shopify-webhook-id": "545ebdd4-b7be-4d3d-b14e-54aa78e0e0f9",
    "x-shopify-triggered-at": "2025-07-10T16:15:47.000000Z",
    "x-shopify-event-id": "59d6d79c-595f-4e7e-bc6f-72f5c3d0c66f",
}
# An older delivery, as Shopify's earlier webhook guide showed one: no event id, no trigger time.
HEADERS_2022_04 = {
    "x-shopify-shop-domain": "johns-apparel.myshopify.com",
    "x-shopify-api-version": "2022-04",
    "x-shopify-webhook-id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
}


def shopify_signed(
    order: object,
    topic: str = "orders/create",
    headers: dict[str, str] | None = None,
    *,
    secret: str = SHOPIFY_SECRET,
) -> tuple[bytes, dict[str, str]]:
    """Signed as Shopify documents it: base64 HMAC-SHA256 of the raw body."""
    body = json.dumps(order).encode()
    mac = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return body, {
        "content-type": "application/json",
        "x-shopify-hmac-sha256": mac,
        "x-shopify-topic": topic,
        **(HEADERS_2026_07 if headers is None else headers),
    }


def shopify(**extra: object) -> Any:
    return source_from({"type": "shopify", "secret": SHOPIFY_SECRET, **extra})


def without_email(order: dict[str, Any]) -> dict[str, Any]:
    order["email"] = order["contact_email"] = None
    order["customer"]["email"] = None
    return order


@pytest.mark.parametrize(
    ("sample", "headers", "text", "email", "phone", "link"),
    [
        (
            CURRENT,
            HEADERS_2026_07,
            "Order #9999 placed: $404.95",
            "jon@example.com",
            # The billing phone "555-555-SHIP", read in the billing address's country (US).
            "+15555557447",
            "https://snowdevil.myshopify.com/admin/orders/820982911946154508",
        ),
        (
            OLDER,
            HEADERS_2022_04,
            "Order #9999 placed: $403.00",
            "jon@doe.ca",
            "+15555552455",
            "https://johns-apparel.myshopify.com/admin/orders/820982911946154508",
        ),
    ],
    ids=["api-2026-07", "api-2022-04"],
)
def test_documented_order_created_is_an_activity_linking_to_the_order(
    sample: str, headers: dict[str, str], text: str, email: str, phone: str, link: str
) -> None:
    order = fixture(sample)
    event = one(shopify(), request(*shopify_signed(order, headers=headers)))
    assert (event.kind, event.direction, event.channel) == (EventKind.ACTIVITY, Direction.INBOUND, "Shopify")
    assert (event.text, event.email, event.phone, event.activity_url) == (text, email, phone, link)
    assert (event.first_name, event.last_name) == ("John", "Smith")
    assert event.occurred_at == datetime.fromisoformat(order["created_at"])


def test_documented_order_fulfilled_is_an_activity_at_the_orders_last_update() -> None:
    order = fixture(CURRENT)
    event = one(shopify(), request(*shopify_signed(order, "orders/fulfilled")))
    assert event.text == "Order #9999 fulfilled"
    assert event.occurred_at == datetime.fromisoformat(order["updated_at"])


def test_the_same_event_delivered_again_under_a_new_webhook_id_is_one_line() -> None:
    body, first = shopify_signed(fixture(CURRENT))
    # Shopify's second delivery of the event (a retry, or a second subscription): same event id, new webhook id.
    again = {**first, "x-shopify-webhook-id": "0b7e4bd6-2f0d-4e0a-9f57-5d1f8a4c3e21"}
    keys = {one(shopify(), request(body, headers)).idempotency_key() for headers in (first, again)}
    assert len(keys) == 1
    fulfilled = one(shopify(), request(*shopify_signed(fixture(CURRENT), "orders/fulfilled")))
    assert fulfilled.idempotency_key() not in keys
    other_event = {**first, "x-shopify-event-id": "98880550-7158-44d4-b7cd-2c97c8a091b5"}
    assert one(shopify(), request(body, other_event)).idempotency_key() not in keys


def test_deliveries_without_an_event_id_are_keyed_on_the_webhook_id_then_on_the_order() -> None:
    body, headers = shopify_signed(fixture(OLDER), headers=HEADERS_2022_04)
    assert one(shopify(), request(body, headers)).external_id == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    del headers["x-shopify-webhook-id"]
    assert one(shopify(), request(body, headers)).external_id == "orders/create:820982911946154508"


@pytest.mark.parametrize(
    ("billing_country", "shipping_country", "default_region", "phone"),
    [
        ("CA", "CA", None, "+16135550199"),
        # The order's own country reads its number, even where the tenant's default is another country's.
        ("CA", "CA", "GB", "+16135550199"),
        (None, "CA", None, "+16135550199"),
        ("ZZ", "CA", None, "+16135550199"),
        # No country on the order: the tenant's default, else the number as typed for the pipeline's policy.
        (None, None, "GB", "+446135550199"),
        (None, None, None, "(613) 555-0199"),
    ],
    ids=["billing", "billing-over-default", "shipping", "unknown-billing", "default", "none"],
)
def test_a_national_billing_phone_is_read_in_the_orders_country(
    billing_country: str | None, shipping_country: str | None, default_region: str | None, phone: str
) -> None:
    order = without_email(fixture(CURRENT))
    order["billing_address"].update(phone="(613) 555-0199", country_code=billing_country)
    order["shipping_address"]["country_code"] = shipping_country
    source = shopify(default_region=default_region) if default_region else shopify()
    event = one(source, request(*shopify_signed(order)))
    assert (event.email, event.phone) == (None, phone)


def test_order_without_email_uses_its_phone_or_is_refused() -> None:
    order = without_email(fixture(OLDER))
    order["phone"] = "+1 (613) 555-0123"
    assert one(shopify(), request(*shopify_signed(order, headers=HEADERS_2022_04))).phone == "+16135550123"
    order["phone"] = None
    order["billing_address"]["phone"] = None
    reason = refused(shopify().parse, request(*shopify_signed(order, headers=HEADERS_2022_04)), 400)
    assert reason == "the order names no customer: it has no email (email, customer.email) or phone"


def test_link_uses_the_configured_shop_or_a_shopify_domain_only() -> None:
    body, headers = shopify_signed(fixture(CURRENT))
    configured = shopify(shop_domain="admin.acme.example")
    assert (
        one(configured, request(body, headers)).activity_url
        == "https://admin.acme.example/admin/orders/820982911946154508"
    )
    spoofed = {**headers, "x-shopify-shop-domain": "evil.example.com"}
    assert one(shopify(), request(body, spoofed)).activity_url is None


def test_the_official_librarys_signature_is_accepted_and_its_topic_ignored() -> None:
    # The body, secret and HMAC of the webhook validation test of Shopify's shopify-api-js
    # (packages/apps/shopify-api/lib/webhooks/__tests__/validate.test.ts), with its headers.
    body = b'{"foo": "bar"}'
    headers = {
        "x-shopify-hmac-sha256": "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=",
        "x-shopify-topic": "products/create",
        "x-shopify-shop-domain": "shop1.myshopify.io",
        "x-shopify-api-version": "2023-01",
        "x-shopify-webhook-id": "123456789",
    }
    source = shopify(secret="test_secret_key")
    source.verify(request(body, headers))
    assert source.parse(request(body, headers), tenant="acme") == []


@pytest.mark.parametrize(
    "topic", ["orders/paid", "orders/cancelled", "orders/updated", "orders/partially_fulfilled", "customers/redact"]
)
def test_topics_left_out_are_acknowledged_and_ignored(topic: str) -> None:
    assert shopify().parse(request(*shopify_signed(fixture(CURRENT), topic)), tenant="acme") == []


def test_a_topic_can_be_left_out_of_the_configuration() -> None:
    created = request(*shopify_signed(fixture(CURRENT)))
    assert shopify(topics=["orders/fulfilled"]).parse(created, tenant="acme") == []


def test_a_delivery_without_a_topic_is_refused() -> None:
    body, headers = shopify_signed(fixture(CURRENT))
    del headers["x-shopify-topic"]
    assert refused(shopify().parse, request(body, headers), 400) == "the X-Shopify-Topic header is missing"


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("id", None, 'the order has no "id"'),
        ("total_price", "four hundred", "total_price 'four hundred' is not an amount"),
        ("created_at", "yesterday", "the order's created_at / updated_at is not a time"),
    ],
)
def test_unreadable_orders_are_refused_with_the_reason(field: str, value: str | None, reason: str) -> None:
    order = fixture(CURRENT)
    order[field] = value
    assert refused(shopify().parse, request(*shopify_signed(order)), 400) == reason


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "the X-Shopify-Hmac-Sha256 header is missing"),
        ("not base64!", "is not a base64 HMAC-SHA256 signature"),
        (base64.b64encode(b"0" * 32).decode(), "does not match the body"),
    ],
)
def test_bad_shopify_signatures(header: str | None, reason: str) -> None:
    body, headers = shopify_signed(fixture(CURRENT))
    del headers["x-shopify-hmac-sha256"]
    if header is not None:
        headers["x-shopify-hmac-sha256"] = header
    assert reason in refused(shopify().verify, request(body, headers), 401)


def test_documented_configs_are_valid() -> None:
    tables = doc_sources("shopify")
    assert tables
    for table in tables.values():
        source_from(table)
