"""The normalized event's customer: an email, a phone, or the provider's own reference to them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from inboxbridge.events import EventKind, InboundEvent

AT = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)


def event(**fields: Any) -> InboundEvent:
    return InboundEvent(
        **{"tenant": "acme", "source": "chat", "kind": EventKind.MESSAGE, "occurred_at": AT, "text": "Hi", **fields}
    )


def test_a_customer_known_only_by_reference_is_ordered_by_it() -> None:
    first = event(customer_ref="stripe:cus_NffrFeUfNV2Hib")
    later = event(customer_ref="stripe:cus_NffrFeUfNV2Hib", text="Again")
    assert first.customer_key == "ref:stripe:cus_NffrFeUfNV2Hib"
    assert first.ordering_key == later.ordering_key == "acme/ref:stripe:cus_NffrFeUfNV2Hib"
    assert event(customer_ref="stripe:cus_other").ordering_key != first.ordering_key
    assert InboundEvent.from_json(first.to_json()) == first


def test_an_email_or_phone_comes_before_the_reference() -> None:
    assert event(emails=("Ann@Example.com",), customer_ref="crisp:w/s").customer_key == "email:ann@example.com"
    assert event(phone="+14155550142", customer_ref="crisp:w/s").customer_key == "phone:+14155550142"


@pytest.mark.parametrize("ref", ["", "cus_123", "Stripe:cus_1", "stripe:cus 1", "stripe:"])
def test_a_malformed_reference_is_refused(ref: str) -> None:
    with pytest.raises(ValidationError, match="customer_ref"):
        event(customer_ref=ref)


def test_an_event_without_any_customer_is_refused() -> None:
    with pytest.raises(ValidationError, match="an email address, a phone number or a customer reference"):
        event()


def test_content_keys_of_events_without_a_reference_are_what_they_were() -> None:
    # The key of this event as stored before customer references existed: a repeat must still be recognised.
    stored = event(emails=("ann@example.com",), text="Is my order ready?")
    assert stored.idempotency_key() == "sha256:4cf552ff934cdaf0ec3f8cf286375b93df282da66bc0ab954750bce779b83a39"
    with_ref = event(customer_ref="crisp:w/s", text="Is my order ready?")
    assert with_ref.idempotency_key() != event(customer_ref="crisp:w/t", text="Is my order ready?").idempotency_key()
