"""Stripe: Stripe's own fixtures, signed by Stripe's own library, as activities, skipped, ignored or refused.

The events are built from the resource fixtures Stripe publishes with its OpenAPI specification (stripe/openapi),
each cited with its edits in the ``.source.json`` file beside it: the current API, where a PaymentIntent names its
customer only by id, and API 2022-08-01, the last version whose PaymentIntent embeds its charges.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import stripe
from connector_support import NOW, doc_sources, fixture, one, refused, request, source_from

from inboxbridge.events import Direction, EventKind
from inboxbridge.providers.helpers.money import format_amount, format_decimal

SECRET = "whsec_test_5mLcU1fPj0t1vUQkX7aZ2kq4"
API_KEY = "rk_test_51NffrFeUfNV2HibRestrictedKey0000"
PAYMENT = "stripe_2026_payment_intent_succeeded"
PAYMENT_2022 = "stripe_2022_08_01_payment_intent_succeeded"
CHECKOUT = "stripe_2026_checkout_session_completed"
INVOICE = "stripe_2026_invoice_paid"
INVOICE_2022 = "stripe_2022_08_01_invoice_paid"
REFUND = "stripe_2026_charge_refunded"


def signed(
    name_or_event: str | dict[str, Any], *, secret: str = SECRET, at: datetime = NOW
) -> tuple[bytes, dict[str, str]]:
    event = fixture(name_or_event) if isinstance(name_or_event, str) else name_or_event
    body = json.dumps(event, indent=2)
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=int(at.timestamp()))
    return body.encode(), {"content-type": "application/json", "stripe-signature": header}


def source(**extra: object) -> Any:
    return source_from({"type": "stripe", "signing_secret": SECRET, **extra})


def with_lookup(**extra: object) -> Any:
    return source(api_key=API_KEY, **extra)


@pytest.mark.parametrize(
    ("name", "email", "name_parts", "text", "link"),
    [
        (
            CHECKOUT,
            "example@example.com",
            (None, None),
            "Checkout completed: $21.98",
            "https://dashboard.stripe.com/test/payments/pi_1PgafyB7WZ01zgkWSjxsAJo3",
        ),
        (
            INVOICE,
            "jennyrosen@example.com",
            ("Jenny", "Rosen"),
            "Invoice paid: $10.00",
            "https://dashboard.stripe.com/test/invoices/in_1Pgc6tB7WZ01zgkWu9fdqL6I",
        ),
        (
            PAYMENT_2022,
            "jennyrosen@example.com",
            ("Jenny", "Rosen"),
            "Payment received: $10.99",
            "https://dashboard.stripe.com/test/payments/pi_1LuJ2aALFzrJFRY4P5VZcK6P",
        ),
    ],
)
def test_events_naming_an_email_become_activities(
    name: str, email: str, name_parts: tuple[str | None, str | None], text: str, link: str
) -> None:
    event = one(source(), request(*signed(name)))
    assert (event.kind, event.direction, event.channel) == (EventKind.ACTIVITY, Direction.INBOUND, "Stripe")
    assert (event.email, (event.first_name, event.last_name)) == (email, name_parts)
    assert (event.text, event.activity_url, event.customer_ref) == (text, link, None)
    assert event.external_id == fixture(name)["id"]
    assert event.occurred_at == datetime.fromtimestamp(fixture(name)["created"], tz=UTC)


def test_a_current_payment_naming_only_its_customer_is_looked_up_at_delivery() -> None:
    event = one(with_lookup(), request(*signed(PAYMENT)))
    assert (event.emails, event.phone, event.customer_ref) == ((), None, "stripe:cus_NffrFeUfNV2Hib")
    assert event.ordering_key == "acme/ref:stripe:cus_NffrFeUfNV2Hib"
    assert (event.text, event.activity_url) == (
        "Payment received: $10.99",
        "https://dashboard.stripe.com/test/payments/pi_1PgafyB7WZ01zgkWSjxsAJo3",
    )


def test_without_an_api_key_such_a_payment_is_skipped_with_the_reason() -> None:
    reason = refused(source().parse, request(*signed(PAYMENT)), 200)
    assert reason == (
        "the payment_intent.succeeded event evt_1Pgc76B7WZ01zgkWwyRHS12y names its customer only as "
        "cus_NffrFeUfNV2Hib: set the source's api_key (a restricted key that can read Customers) to look the "
        "customer's email up"
    )


def test_an_older_invoice_without_customer_email_names_its_customer() -> None:
    assert one(with_lookup(), request(*signed(INVOICE_2022))).customer_ref == "stripe:cus_MdaDFi4XhbT6j7"
    assert "names its customer only as cus_MdaDFi4XhbT6j7" in refused(
        source().parse, request(*signed(INVOICE_2022)), 200
    )


def test_a_refund_of_a_guest_charge_names_no_one_and_is_skipped() -> None:
    reason = refused(with_lookup().parse, request(*signed(REFUND)), 200)
    assert reason == (
        "the charge.refunded event evt_1Pgc76B7WZ01zgkWwyRHS12y names no customer: no email, phone or customer id "
        "(a guest payment without a receipt email)"
    )


def test_a_refund_with_a_receipt_email_lands() -> None:
    event = fixture(REFUND)
    event["data"]["object"]["receipt_email"] = "jennyrosen@example.com"
    refund = one(source(), request(*signed(event)))
    assert (refund.email, refund.first_name, refund.text) == ("jennyrosen@example.com", "Jenny", "Refund issued: $1.00")
    assert refund.activity_url == "https://dashboard.stripe.com/test/payments/ch_1PgafuB7WZ01zgkWXYmPNZs8"


def test_a_phone_is_the_customer_when_there_is_no_email() -> None:
    event = fixture(CHECKOUT)
    details = event["data"]["object"]["customer_details"]
    details["email"], details["phone"] = None, "+14155550142"
    checkout = one(source(), request(*signed(event)))
    assert (checkout.emails, checkout.phone, checkout.customer_ref) == ((), "+14155550142", None)


def test_an_expanded_customer_object_gives_its_email() -> None:
    event = fixture(PAYMENT)
    event["data"]["object"]["customer"] = fixture("stripe_customer_retrieve_example")
    payment = one(source(), request(*signed(event)))
    assert (payment.email, payment.first_name, payment.last_name) == ("jennyrosen@example.com", "Jenny", "Rosen")


def test_types_not_configured_are_ignored() -> None:
    body, headers = signed(INVOICE)
    only_payments = source(events=["payment_intent.succeeded"])
    only_payments.verify(request(body, headers))
    assert only_payments.parse(request(body, headers), tenant="acme") == []
    other = {**fixture(INVOICE), "type": "invoice.created"}
    assert source().parse(request(json.dumps(other).encode()), tenant="acme") == []


def test_our_check_accepts_exactly_what_stripes_library_accepts() -> None:
    body, headers = signed(CHECKOUT, at=datetime.now(UTC))
    stripe.Webhook.construct_event(body, headers["stripe-signature"], SECRET)
    wall_clock = source_from({"type": "stripe", "signing_secret": SECRET}, clock=lambda: datetime.now(UTC))
    wall_clock.verify(request(body, headers))
    tampered = body.replace(b"2198", b"2199")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(tampered, headers["stripe-signature"], SECRET)
    assert "matches the body" in refused(wall_clock.verify, request(tampered, headers), 401)


def test_several_signatures_while_the_secret_rolls() -> None:
    body, headers = signed(INVOICE)
    _, old = signed(INVOICE, secret="whsec_old")
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
    body, _ = signed(INVOICE)
    headers = {} if header is None else {"stripe-signature": header}
    assert reason in refused(source().verify, request(body, headers), 401)


def test_old_signatures_are_replays() -> None:
    body, headers = signed(INVOICE, at=datetime.fromtimestamp(NOW.timestamp() - 301, tz=UTC))
    assert "more than 300 seconds old" in refused(source().verify, request(body, headers), 401)
    body, headers = signed(INVOICE, at=datetime.fromtimestamp(NOW.timestamp() - 299, tz=UTC))
    source().verify(request(body, headers))


def test_wrong_secret_is_refused() -> None:
    body, headers = signed(INVOICE, secret="whsec_other")
    assert "wrong secret or altered body" in refused(source().verify, request(body, headers), 401)


def test_unreadable_amount_is_refused() -> None:
    event = fixture(INVOICE)
    del event["data"]["object"]["currency"]
    assert "amount_paid and data.object.currency" in refused(source().parse, request(json.dumps(event).encode()), 400)


def test_secrets_never_show() -> None:
    config = with_lookup()
    body, headers = signed(INVOICE, secret="whsec_other")
    reason = refused(config.verify, request(body, headers), 401)
    for text in (reason, repr(config), str(doc_sources)):
        assert SECRET not in text and API_KEY not in text


def test_an_api_key_that_is_not_a_stripe_secret_key_is_refused_without_repeating_it() -> None:
    with pytest.raises(ValueError, match=r"api_key must be a Stripe restricted key \(rk_\.\.\.\)") as caught:
        source(api_key="pk_test_publishable")
    assert "pk_test_publishable" not in str(caught.value)


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
    body, headers = signed(INVOICE, at=datetime.fromtimestamp(time.time(), tz=UTC))
    from inboxbridge.providers import build_source, parse_source_config

    build_source("s", parse_source_config({"type": "stripe", "signing_secret": SECRET})).verify(request(body, headers))
