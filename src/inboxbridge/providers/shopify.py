"""Shopify: an order placed or fulfilled becomes an activity line with a link to the order in the admin.

Shopify signs the raw body with the app's client secret (or the store's webhook signing secret): base64
HMAC-SHA256 in ``X-Shopify-Hmac-Sha256``. ``X-Shopify-Topic`` names the event. Shopify documents
``X-Shopify-Event-Id`` as the duplicate marker: one merchant action keeps its event id on every delivery, retried
or sent to a second subscription, while ``X-Shopify-Webhook-Id`` names one delivery. Each line is therefore keyed
on the topic and the event id; deliveries from before Shopify sent event ids fall back on the webhook id, then on
the topic and the order. A phone typed without its country code is read in the country of the order's addresses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr

from inboxbridge.events import EventKind, InboundEvent
from inboxbridge.phones import normalize_region
from inboxbridge.providers.base import PayloadError, WebhookRequest
from inboxbridge.providers.helpers.clock import Clock
from inboxbridge.providers.helpers.connector import (
    ConnectorConfig,
    ConnectorSource,
    PhoneRegionMixin,
    make_event,
    required_secret,
)
from inboxbridge.providers.helpers.json_body import read_json_object
from inboxbridge.providers.helpers.money import format_decimal
from inboxbridge.providers.helpers.signatures import verify_hmac
from inboxbridge.providers.helpers.values import as_time, customer_phone, first_string, required_string, string_at

__all__ = ["ShopifySource", "ShopifySourceConfig"]

CHANNEL = "Shopify"
_SHOP_DOMAIN = re.compile(r"[a-z0-9][a-z0-9-]*\.myshopify\.com")
HEADER = "X-Shopify-Hmac-Sha256"
ShopifyTopic = Literal["orders/create", "orders/fulfilled"]
ALL_TOPICS: tuple[ShopifyTopic, ...] = ("orders/create", "orders/fulfilled")


class ShopifySourceConfig(ConnectorConfig, PhoneRegionMixin):
    """A Shopify store's order webhooks."""

    type: Literal["shopify"] = "shopify"
    secret: Annotated[
        SecretStr, required_secret("secret must be the app's client secret or the store's webhook signing secret")
    ]
    """The app's client secret, or the signing secret shown under Settings → Notifications → Webhooks."""
    topics: list[ShopifyTopic] = Field(default_factory=lambda: list(ALL_TOPICS))
    shop_domain: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9.-]*\.[a-z]{2,}$")
    """The store's domain (``acme.myshopify.com``) for links to orders; unset, taken from X-Shopify-Shop-Domain."""

    def build(self, name: str, *, clock: Clock | None = None) -> ShopifySource:
        """The source this configuration describes, named ``name``."""
        return ShopifySource(name, self)


def _line(topic: str, order: dict[str, Any]) -> str:
    label = string_at(order, "name") or f"#{string_at(order, 'order_number') or string_at(order, 'id')}"
    if topic == "orders/fulfilled":
        return f"Order {label} fulfilled"
    total, currency = string_at(order, "total_price"), string_at(order, "currency")
    if total is None or currency is None:
        return f"Order {label} placed"
    try:
        return f"Order {label} placed: {format_decimal(total, currency)}"
    except (InvalidOperation, ValueError):
        raise PayloadError(f"total_price {total!r} is not an amount") from None


def _delivery_key(headers: Mapping[str, str], topic: str, order_id: str) -> str:
    event_id = headers.get("x-shopify-event-id", "").strip()
    if event_id:
        # One merchant action can fire several topics under one event id (an order paid and fulfilled at the
        # till): the topic keeps their lines apart, while a repeat of the same topic is recognised.
        return f"{topic}:event:{event_id}"
    return headers.get("x-shopify-webhook-id", "").strip() or f"{topic}:{order_id}"


def _order_region(order: dict[str, Any]) -> str | None:
    """The country of the order's billing address, else its shipping address, as a phone region."""
    for address in ("billing_address", "shipping_address"):
        code = string_at(order, address, "country_code")
        if code is None:
            continue
        try:
            return normalize_region(code)
        except ValueError:
            # No numbering plan is known for this country: the other address may still name one.
            continue
    return None


class ShopifySource(ConnectorSource[ShopifySourceConfig]):
    """A source configured by :class:`ShopifySourceConfig`."""

    def verify(self, request: WebhookRequest) -> None:
        """Check ``X-Shopify-Hmac-Sha256`` (base64 HMAC-SHA256 of the raw body)."""
        signature = request.headers.get(HEADER.lower())
        verify_hmac(request.body, signature, self._config.secret, header=HEADER, encoding="base64")

    def _shop(self, request: WebhookRequest) -> str | None:
        if self._config.shop_domain:
            return self._config.shop_domain
        # The header is not covered by the signature: only a Shopify domain is trusted to build a link with.
        domain = request.headers.get("x-shopify-shop-domain", "").strip().lower()
        return domain if _SHOP_DOMAIN.fullmatch(domain) else None

    def parse(self, request: WebhookRequest, *, tenant: str) -> list[InboundEvent]:
        """One activity for a configured topic; nothing for the others."""
        topic = request.headers.get("x-shopify-topic", "").strip()
        if not topic:
            raise PayloadError("the X-Shopify-Topic header is missing")
        if topic not in self._config.topics:
            return []
        order = read_json_object(request.body)
        order_id = required_string(order, "id", what="the order")
        email = first_string(order, ("email",), ("contact_email",), ("customer", "email"))
        raw_phone = first_string(order, ("phone",), ("customer", "phone"), ("billing_address", "phone"))
        if email is None and raw_phone is None:
            raise PayloadError("the order names no customer: it has no email (email, customer.email) or phone")
        phone = None
        if raw_phone is not None:
            # Checkout takes a phone in the format of the address's country: that country reads a national number
            # better than the tenant-wide default, which is left for orders without one.
            region = _order_region(order) or self._config.default_region
            try:
                phone = customer_phone(raw_phone, region, field="the order's phone")
            except PayloadError:
                # Shopify keeps phones as typed at checkout; with an email to go by, an odd one is left out.
                if email is None:
                    raise
        shop = self._shop(request)
        try:
            occurred_at = (
                as_time(order.get("updated_at" if topic == "orders/fulfilled" else "created_at")) or request.received_at
            )
        except ValueError:
            raise PayloadError("the order's created_at / updated_at is not a time") from None
        return [
            make_event(
                f"the {topic} webhook",
                tenant=tenant,
                source=self._name,
                kind=EventKind.ACTIVITY,
                occurred_at=occurred_at,
                external_id=_delivery_key(request.headers, topic, order_id),
                emails=(email,) if email else (),
                phone=phone,
                first_name=first_string(order, ("customer", "first_name"), ("billing_address", "first_name")),
                last_name=first_string(order, ("customer", "last_name"), ("billing_address", "last_name")),
                text=_line(topic, order),
                activity_url=f"https://{shop}/admin/orders/{order_id}" if shop else None,
                channel=CHANNEL,
                raw=order,
            )
        ]
