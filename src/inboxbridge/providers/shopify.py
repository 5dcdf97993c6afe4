"""Shopify: an order placed or fulfilled becomes an activity line with a link to the order in the admin.

Shopify signs the raw body with the app's client secret (or the store's webhook signing secret): base64
HMAC-SHA256 in ``X-Shopify-Hmac-Sha256``. ``X-Shopify-Topic`` names the event, ``X-Shopify-Webhook-Id`` the
delivery (the same on retries).
"""

from __future__ import annotations

import re
from decimal import InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr

from inboxbridge.events import EventKind, InboundEvent
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
        webhook_id = request.headers.get("x-shopify-webhook-id", "").strip()
        email = first_string(order, ("email",), ("contact_email",), ("customer", "email"))
        raw_phone = first_string(order, ("phone",), ("customer", "phone"), ("billing_address", "phone"))
        if email is None and raw_phone is None:
            raise PayloadError("the order names no customer: it has no email (email, customer.email) or phone")
        phone = None
        if raw_phone is not None:
            try:
                phone = customer_phone(raw_phone, self._config.default_region, field="the order's phone")
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
                # Shopify repeats the webhook id on retries; without one, one event per order and topic.
                external_id=webhook_id or f"{topic}:{order_id}",
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
