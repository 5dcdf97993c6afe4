"""Stripe: signatures made by Stripe's own library, documented event payloads, amounts, links, ignored types."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
import stripe
from connector_support import NOW, doc_sources, fixture, one, refused, request, source_from

from inboxbridge.events import Direction, EventKind
from inboxbridge.providers.helpers.money import format_amount, format_decimal

SECRET = "whsec_test_5mLcU1fPj0t1vUQkX7aZ2kq4"
TYPES = ["payment_intent_succeeded", "charge_refunded", "invoice_paid", "checkout_session_completed"]


def signed(name: str, *, secret: str = SECRET, at: datetime = NOW) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(fixture(name), indent=2)
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=int(at.timestamp()))
    return body.encode(), {"content-type": "application/json", "stripe-signature": header}


def source(**extra: object) -> object:
    return source_from({"type": "stripe", "signing_secret": SECRET, **extra})


@pytest.mark.parametrize(
    ("name", "email", "text", "link"),
    [
        (
            "stripe_payment_intent_succeeded",
            "ada@example.com",
            "Payment received: €42.00",
            "https://dashboard.stripe.com/test/payments/pi_3MtwBwLkdIwHu7ix28a3tqPa",
        ),
        (
            "stripe_charge_refunded",
            "ada@example.com",
            "Refund issued: €12.50",
            "https://dashboard.stripe.com/payments/pi_3MmlLrLkdIwHu7ix0uke3Ezy",
        ),
        (
            "stripe_invoice_paid",
            "grace@example.com",
            "Invoice paid: ¥99,900 (9545A614-0001)",
            "https://dashboard.stripe.com/test/invoices/in_1MtHbELkdIwHu7ixl4OzzPMv",
        ),
        (
            "stripe_checkout_session_completed",
            "alan@example.com",
            "Checkout completed: $20.00",
            "https://dashboard.stripe.com/test/payments/pi_3NG8Dv2eZvKYlo2C1uTQoR2y",
        ),
    ],
)
def test_documented_events_become_activities(name: str, email: str, text: str, link: str) -> None:
    body, headers = signed(name)
    event = one(source(), request(body, headers))
    assert (event.kind, event.direction, event.channel) == (EventKind.ACTIVITY, Direction.INBOUND, "Stripe")
    assert (event.email, event.text, event.activity_url) == (email, text, link)
    assert event.external_id == fixture(name)["id"]
    assert event.occurred_at == datetime.fromtimestamp(fixture(name)["created"], tz=UTC)


def test_names_come_along() -> None:
    event = one(source(), request(*signed("stripe_charge_refunded")))
    assert (event.first_name, event.last_name) == ("Ada", "Lovelace")


def test_types_not_configured_are_ignored() -> None:
    body, headers = signed("stripe_invoice_paid")
    only_payments = source(events=["payment_intent.succeeded"])
    only_payments.verify(request(body, headers))
    assert only_payments.parse(request(body, headers), tenant="acme") == []
    other = {**fixture("stripe_invoice_paid"), "type": "customer.created"}
    assert source().parse(request(json.dumps(other).encode()), tenant="acme") == []


def test_our_check_accepts_exactly_what_stripes_library_accepts() -> None:
    body, headers = signed("stripe_payment_intent_succeeded", at=datetime.now(UTC))
    stripe.Webhook.construct_event(body, headers["stripe-signature"], SECRET)
    wall_clock = source_from({"type": "stripe", "signing_secret": SECRET}, clock=lambda: datetime.now(UTC))
    wall_clock.verify(request(body, headers))
    tampered = body.replace(b"4200", b"4300")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(tampered, headers["stripe-signature"], SECRET)
    assert "matches the body" in refused(wall_clock.verify, request(tampered, headers), 401)


def test_several_signatures_while_the_secret_rolls() -> None:
    body, headers = signed("stripe_invoice_paid")
    _, old = signed("stripe_invoice_paid", secret="whsec_old")
    stamp = headers["stripe-signature"].split(",")[0]
    both = f"{stamp},{old['stripe-signature'].split(',')[1]},{headers['stripe-signature'].split(',')[1]},v0=abc"
    source().verify(request(body, {"stripe-signature": both}))


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "the Stripe-Signature header is missing"),
        ("v1=abcd", 'has no "t=<unix time>" timestamp'),
        ("t=1793707230", 'has no "v1=<hex>" signature'),
        ("t=1793707230,v1=zz", 'has no "v1=<hex>" signature'),
    ],
)
def test_malformed_headers_are_refused(header: str | None, reason: str) -> None:
    body, _ = signed("stripe_invoice_paid")
    headers = {} if header is None else {"stripe-signature": header}
    assert reason in refused(source().verify, request(body, headers), 401)


def test_old_signatures_are_replays() -> None:
    body, headers = signed("stripe_invoice_paid", at=datetime.fromtimestamp(NOW.timestamp() - 301, tz=UTC))
    assert "more than 300 seconds old" in refused(source().verify, request(body, headers), 401)
    body, headers = signed("stripe_invoice_paid", at=datetime.fromtimestamp(NOW.timestamp() - 299, tz=UTC))
    source().verify(request(body, headers))


def test_wrong_secret_is_refused() -> None:
    body, headers = signed("stripe_invoice_paid", secret="whsec_other")
    assert "wrong secret or altered body" in refused(source().verify, request(body, headers), 401)


def test_event_without_customer_email_is_refused_with_a_reason() -> None:
    event = fixture("stripe_payment_intent_succeeded")
    event["data"]["object"]["receipt_email"] = None
    reason = refused(source().parse, request(json.dumps(event).encode()), 400)
    assert reason == "the payment_intent.succeeded event names no customer email (receipt_email, customer email)"


def test_unreadable_amount_is_refused() -> None:
    event = fixture("stripe_invoice_paid")
    del event["data"]["object"]["currency"]
    assert "amount_paid and data.object.currency" in refused(source().parse, request(json.dumps(event).encode()), 400)


def test_secret_never_shows() -> None:
    config = source()
    body, headers = signed("stripe_invoice_paid", secret="whsec_other")
    reason = refused(config.verify, request(body, headers), 401)
    for text in (reason, repr(config), str(doc_sources)):
        assert SECRET not in text


def test_amounts() -> None:
    assert format_amount(4200, "eur") == "€42.00"
    assert format_amount(500, "JPY") == "¥500"
    assert format_amount(1999, "chf") == "19.99 CHF"
    assert format_amount(1234, "kwd") == "1.234 KWD"
    assert format_amount(-1200, "gbp") == "-£12.00"
    assert format_amount(123456789, "usd") == "$1,234,567.89"
    assert format_decimal("403.00", "USD") == "$403.00"


def test_documented_config_is_valid() -> None:
    tables = doc_sources("stripe")
    assert tables
    for table in tables.values():
        source_from(table)


def test_clock_is_the_wall_clock_by_default() -> None:
    body, headers = signed("stripe_invoice_paid", at=datetime.fromtimestamp(time.time(), tz=UTC))
    from inboxbridge.providers import build_source, parse_source_config

    build_source("s", parse_source_config({"type": "stripe", "signing_secret": SECRET})).verify(request(body, headers))
