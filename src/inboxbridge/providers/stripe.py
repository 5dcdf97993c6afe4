"""Stripe: payments, refunds, paid invoices and completed checkouts as activity lines with a dashboard link.

Stripe signs ``{t}.{raw body}`` with the endpoint's signing secret (``whsec_...``, used as it is) and sends
``Stripe-Signature: t=...,v1=...``. Event types not configured are answered 200 and dropped.

The customer is the email (else the phone) on the object. Since API version 2022-11-15 a PaymentIntent embeds no
charges, so a payment without ``receipt_email`` often names its customer only as ``customer: "cus_..."``: with an
``api_key`` the event carries that id as its customer reference and the customer's email is looked up when it is
delivered; without one, or without any customer at all, the event is skipped (answered 200, kept with the
reason), since Stripe would retry a refusal for days and the event will never say more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator

from inboxbridge.events import EventKind, InboundEvent
from inboxbridge.providers.base import (
    CustomerLookupError,
    FoundCustomer,
    PayloadError,
    SkippedEvent,
    WebhookRequest,
)
from inboxbridge.providers.helpers.clock import Clock
from inboxbridge.providers.helpers.connector import ConnectorConfig, ConnectorSource, make_event, required_secret
from inboxbridge.providers.helpers.json_body import read_json_object
from inboxbridge.providers.helpers.money import format_amount
from inboxbridge.providers.helpers.signatures import verify_timestamped_signature
from inboxbridge.providers.helpers.values import (
    first_string,
    object_at,
    required_string,
    split_name,
    string_at,
    unix_time,
)
from inboxbridge.providers.stripe_customers import StripeCustomers, customer_ref

__all__ = ["StripeEventType", "StripeSource", "StripeSourceConfig"]

CHANNEL = "Stripe"
HEADER = "Stripe-Signature"
DASHBOARD = "https://dashboard.stripe.com/"
StripeEventType = Literal["payment_intent.succeeded", "charge.refunded", "invoice.paid", "checkout.session.completed"]
ALL_TYPES: tuple[StripeEventType, ...] = (
    "payment_intent.succeeded",
    "charge.refunded",
    "invoice.paid",
    "checkout.session.completed",
)


class StripeSourceConfig(ConnectorConfig):
    """A Stripe webhook endpoint."""

    type: Literal["stripe"] = "stripe"
    signing_secret: Annotated[
        SecretStr, required_secret("signing_secret must be the endpoint's signing secret (whsec_...)")
    ]
    """The endpoint's signing secret, ``whsec_...``."""
    events: list[StripeEventType] = Field(default_factory=lambda: list(ALL_TYPES))
    tolerance_seconds: float = Field(default=300, gt=0)
    """How old a signature's timestamp may be (Stripe's libraries use 300 seconds)."""
    api_key: SecretStr | None = None
    """A restricted key (``rk_...``) with read access to Customers, to look up the email of a customer an event
    names only by id. Unset, such events are skipped."""
    api_base_url: str = "https://api.stripe.com"
    lookup_timeout_seconds: float = Field(default=10, gt=0, le=120)
    lookup_cache_seconds: float = Field(default=600, ge=0)
    """How long a customer looked up is remembered (in memory, per source)."""

    @field_validator("api_key")
    @classmethod
    def _stripe_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip().startswith(("rk_", "sk_")):
            raise ValueError("api_key must be a Stripe restricted key (rk_...) or secret key (sk_...)")
        return value

    @field_validator("api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("api_base_url must be an http(s) URL")
        return value.rstrip("/")

    def build(self, name: str, *, clock: Clock | None = None) -> StripeSource:
        """The source this configuration describes, named ``name``."""
        return StripeSource(name, self, clock=clock)


def _amount(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    currency = obj.get("currency")
    if not isinstance(value, int) or isinstance(value, bool) or not isinstance(currency, str) or not currency:
        raise PayloadError(f"data.object.{key} and data.object.currency must give the amount")
    return format_amount(value, currency)


@dataclass(frozen=True)
class _Read:
    """What an object says: the activity line, and the customer as far as the object names them."""

    line: str
    email: str | None
    name: str | None
    phone: str | None


def _billing(charge: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    email = first_string(charge, ("receipt_email",), ("billing_details", "email"))
    name, phone = string_at(charge, "billing_details", "name"), string_at(charge, "billing_details", "phone")
    return email, name, phone


def _payment_intent(obj: dict[str, Any]) -> _Read:
    key = "amount_received" if isinstance(obj.get("amount_received"), int) else "amount"
    # API versions before 2022-11-15 embed the charges; later ones only when latest_charge is expanded.
    charges = object_at(obj, "charges").get("data")
    first = charges[0] if isinstance(charges, list) and charges and isinstance(charges[0], dict) else {}
    found = [_billing(charge) for charge in (first, object_at(obj, "latest_charge"))]
    email = string_at(obj, "receipt_email") or next((f[0] for f in found if f[0]), None)
    name = next((f[1] for f in found if f[1]), None)
    phone = next((f[2] for f in found if f[2]), None)
    return _Read(f"Payment received: {_amount(obj, key)}", email, name, phone)


def _charge(obj: dict[str, Any]) -> _Read:
    email, name, phone = _billing(obj)
    return _Read(f"Refund issued: {_amount(obj, 'amount_refunded')}", email, name, phone)


def _invoice(obj: dict[str, Any]) -> _Read:
    number = string_at(obj, "number")
    line = f"Invoice paid: {_amount(obj, 'amount_paid')}" + (f" ({number})" if number else "")
    return _Read(
        line, string_at(obj, "customer_email"), string_at(obj, "customer_name"), string_at(obj, "customer_phone")
    )


def _checkout(obj: dict[str, Any]) -> _Read:
    email = first_string(obj, ("customer_details", "email"), ("customer_email",))
    name, phone = string_at(obj, "customer_details", "name"), string_at(obj, "customer_details", "phone")
    return _Read(f"Checkout completed: {_amount(obj, 'amount_total')}", email, name, phone)


_READERS: dict[str, Callable[[dict[str, Any]], _Read]] = {
    "payment_intent.succeeded": _payment_intent,
    "charge.refunded": _charge,
    "invoice.paid": _invoice,
    "checkout.session.completed": _checkout,
}


def _dashboard_link(event_type: str, obj: dict[str, Any], live: bool) -> str | None:
    base = DASHBOARD if live else DASHBOARD + "test/"
    if event_type == "invoice.paid":
        target = string_at(obj, "id")
        return f"{base}invoices/{target}" if target else None
    if event_type == "payment_intent.succeeded":
        target = string_at(obj, "id")
    else:
        target = string_at(obj, "payment_intent") or (string_at(obj, "id") if event_type == "charge.refunded" else None)
    if target:
        return f"{base}payments/{target}"
    customer = string_at(obj, "customer")
    return f"{base}customers/{customer}" if customer else None


class StripeSource(ConnectorSource[StripeSourceConfig]):
    """A source configured by :class:`StripeSourceConfig`."""

    def __init__(self, name: str, config: StripeSourceConfig, *, clock: Clock | None = None) -> None:
        super().__init__(name, config, clock=clock)
        self._customers = (
            StripeCustomers(
                config.api_key,
                base_url=config.api_base_url,
                timeout_seconds=config.lookup_timeout_seconds,
                cache_seconds=config.lookup_cache_seconds,
            )
            if config.api_key is not None
            else None
        )

    def verify(self, request: WebhookRequest) -> None:
        """Check ``Stripe-Signature`` (timestamped HMAC-SHA256) against the raw body."""
        key, tolerance = self._config.signing_secret, self._config.tolerance_seconds
        verify_timestamped_signature(request, key, header=HEADER, now=self._clock(), tolerance_seconds=tolerance)

    def parse(self, request: WebhookRequest, *, tenant: str) -> list[InboundEvent]:
        """One activity for a configured event type; nothing for the others. An event naming no email or phone
        is skipped (:class:`SkippedEvent`), unless it names a customer id and ``api_key`` can look it up."""
        event = read_json_object(request.body)
        event_type = required_string(event, "type", what="the event")
        if event_type not in self._config.events:
            return []
        event_id = required_string(event, "id", what="the event")
        obj = event.get("data", {}).get("object") if isinstance(event.get("data"), dict) else None
        if not isinstance(obj, dict):
            raise PayloadError("the event has no data.object")
        read = _READERS[event_type](obj)
        # The customer may come expanded (an object) rather than as an id.
        customer = object_at(obj, "customer")
        customer_id = string_at(obj, "customer") or string_at(customer, "id")
        email = read.email or string_at(customer, "email")
        phone = None if email else read.phone or string_at(customer, "phone")
        ref = None
        if email is None and phone is None:
            ref = self._customer_ref(event_type, event_id, customer_id)
        first, last = split_name(read.name or string_at(customer, "name"))
        return [
            make_event(
                f"the {event_type} event",
                tenant=tenant,
                source=self._name,
                kind=EventKind.ACTIVITY,
                occurred_at=unix_time(event.get("created")) or request.received_at,
                external_id=event_id,
                emails=(email,) if email else (),
                phone=phone,
                customer_ref=ref,
                first_name=first,
                last_name=last,
                text=read.line,
                activity_url=_dashboard_link(event_type, obj, event.get("livemode") is True),
                channel=CHANNEL,
                raw=event,
            )
        ]

    def _customer_ref(self, event_type: str, event_id: str, customer_id: str | None) -> str:
        """The reference of the customer an event names only by id; :class:`SkippedEvent` when it cannot be
        looked up."""
        if customer_id is None:
            raise SkippedEvent(
                f"the {event_type} event {event_id} names no customer: no email, phone or customer id (a guest "
                "payment without a receipt email)"
            )
        if self._customers is None:
            raise SkippedEvent(
                f"the {event_type} event {event_id} names its customer only as {customer_id}: set the source's "
                "api_key (a restricted key that can read Customers) to look the customer's email up"
            )
        return customer_ref(customer_id)

    async def find_customer(self, ref: str) -> FoundCustomer:
        """The Stripe customer ``ref`` names, through Stripe's API (cached)."""
        if self._customers is None:
            raise CustomerLookupError(
                f"{ref} can only be looked up with the source's api_key, and none is configured", retryable=False
            )
        return await self._customers.find(ref)
