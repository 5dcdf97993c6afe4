"""Stripe: payments, refunds, paid invoices and completed checkouts as activity lines with a dashboard link.

Stripe signs ``{t}.{raw body}`` with the endpoint's signing secret (``whsec_...``, used as it is) and sends
``Stripe-Signature: t=...,v1=...``. Event types not configured are answered 200 and dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr

from inboxbridge.events import EventKind, InboundEvent
from inboxbridge.providers.base import PayloadError, WebhookRequest
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

    def build(self, name: str, *, clock: Clock | None = None) -> StripeSource:
        """The source this configuration describes, named ``name``."""
        return StripeSource(name, self, clock=clock)


def _amount(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    currency = obj.get("currency")
    if not isinstance(value, int) or isinstance(value, bool) or not isinstance(currency, str) or not currency:
        raise PayloadError(f"data.object.{key} and data.object.currency must give the amount")
    return format_amount(value, currency)


def _payment_intent(obj: dict[str, Any]) -> tuple[str, str | None, str | None]:
    key = "amount_received" if isinstance(obj.get("amount_received"), int) else "amount"
    charges = obj.get("charges", {}).get("data") if isinstance(obj.get("charges"), dict) else None
    charge: dict[str, Any] = (
        charges[0] if isinstance(charges, list) and charges and isinstance(charges[0], dict) else {}
    )
    latest = object_at(obj, "latest_charge")
    email = (
        first_string(obj, ("receipt_email",))
        or first_string(charge, ("billing_details", "email"), ("receipt_email",))
        or first_string(latest, ("billing_details", "email"), ("receipt_email",))
    )
    name = first_string(charge, ("billing_details", "name")) or first_string(latest, ("billing_details", "name"))
    return f"Payment received: {_amount(obj, key)}", email, name


def _charge(obj: dict[str, Any]) -> tuple[str, str | None, str | None]:
    email = first_string(obj, ("receipt_email",), ("billing_details", "email"))
    return f"Refund issued: {_amount(obj, 'amount_refunded')}", email, first_string(obj, ("billing_details", "name"))


def _invoice(obj: dict[str, Any]) -> tuple[str, str | None, str | None]:
    number = string_at(obj, "number")
    line = f"Invoice paid: {_amount(obj, 'amount_paid')}" + (f" ({number})" if number else "")
    return line, first_string(obj, ("customer_email",)), first_string(obj, ("customer_name",))


def _checkout(obj: dict[str, Any]) -> tuple[str, str | None, str | None]:
    email = first_string(obj, ("customer_details", "email"), ("customer_email",))
    return f"Checkout completed: {_amount(obj, 'amount_total')}", email, first_string(obj, ("customer_details", "name"))


_READERS: dict[str, Callable[[dict[str, Any]], tuple[str, str | None, str | None]]] = {
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

    def verify(self, request: WebhookRequest) -> None:
        """Check ``Stripe-Signature`` (timestamped HMAC-SHA256) against the raw body."""
        key, tolerance = self._config.signing_secret, self._config.tolerance_seconds
        verify_timestamped_signature(request, key, header=HEADER, now=self._clock(), tolerance_seconds=tolerance)

    def parse(self, request: WebhookRequest, *, tenant: str) -> list[InboundEvent]:
        """One activity for a configured event type; nothing for the others."""
        event = read_json_object(request.body)
        event_type = required_string(event, "type", what="the event")
        if event_type not in self._config.events:
            return []
        event_id = required_string(event, "id", what="the event")
        obj = event.get("data", {}).get("object") if isinstance(event.get("data"), dict) else None
        if not isinstance(obj, dict):
            raise PayloadError("the event has no data.object")
        line, email, name = _READERS[event_type](obj)
        if email is None:
            raise PayloadError(f"the {event_type} event names no customer email (receipt_email, customer email)")
        first, last = split_name(name)
        return [
            make_event(
                f"the {event_type} event",
                tenant=tenant,
                source=self._name,
                kind=EventKind.ACTIVITY,
                occurred_at=unix_time(event.get("created")) or request.received_at,
                external_id=event_id,
                emails=(email,),
                first_name=first,
                last_name=last,
                text=line,
                activity_url=_dashboard_link(event_type, obj, event.get("livemode") is True),
                channel=CHANNEL,
                raw=event,
            )
        ]
