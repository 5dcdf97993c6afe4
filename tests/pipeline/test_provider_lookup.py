"""Events that name their customer only by the provider's id (``customer_ref``): who the source says the customer
is, the contact found or created from that, what is remembered, and the failures of the lookup.

The source here is an in-process one that answers from a table; the Stripe and Crisp lookups over HTTP are tested
in tests/providers/test_customer_lookups.py, and both together through the worker in
tests/providers/test_lookup_delivery.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from inboxbridge.config import DeliverySettings, PolicySettings
from inboxbridge.events import Direction, EventKind, InboundEvent
from inboxbridge.pipeline import DeliveryFailed, MemoryIdCache, NoContactError, Pipeline, Posted
from inboxbridge.providers.base import CustomerLookupError, FoundCustomer

from .fake_wix import START, FakeSite
from .support import TENANT

REF = "crisp:8c842203-7ed8-4e29-a608-7cf78a7d2fcc/session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881"
DAY = 86_400.0


class TableSource:
    """A source whose customers are a table; ``failure`` is raised instead when set. Counts its lookups."""

    name = "chat"

    def __init__(self, customers: dict[str, FoundCustomer], failure: CustomerLookupError | None = None) -> None:
        self.customers = customers
        self.failure = failure
        self.lookups = 0

    def verify(self, request: Any) -> None:
        """Every request is authentic here."""

    def parse(self, request: Any, *, tenant: str) -> list[InboundEvent]:
        """No requests come in here."""
        return []

    async def find_customer(self, ref: str) -> FoundCustomer:
        self.lookups += 1
        if self.failure is not None:
            raise self.failure
        return self.customers[ref]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def visitor_says(text: str, *, nickname: str | None = "visitor493603", **fields: Any) -> InboundEvent:
    return InboundEvent(
        tenant=TENANT,
        source="chat",
        kind=EventKind.MESSAGE,
        occurred_at=START,
        customer_ref=REF,
        first_name=nickname,
        text=text,
        **fields,
    )


async def deliver(
    site: FakeSite, cache: MemoryIdCache, event: InboundEvent, source: Any, **policy: Any
) -> list[Posted]:
    return await Pipeline(cache).deliver(
        site,  # type: ignore[arg-type]  # FakeSite has the WixSite methods the pipeline calls
        event,
        policy=PolicySettings(**policy),
        delivery=DeliverySettings(),
        source=source,
    )


async def test_the_email_the_provider_gives_finds_the_customers_contact(site: FakeSite, cache: MemoryIdCache) -> None:
    john = site.add_contact("john", emails=["john.doe@acme-inc.com"])
    source = TableSource({REF: FoundCustomer(emails=("John.Doe@Acme-Inc.com",), first_name="John", last_name="Doe")})
    [posted] = await deliver(site, cache, visitor_says("Hey :)"), source)
    assert posted.contact_id == john and site.count("create_contact") == 0
    # The conversation's next message is its contact's without asking the provider again.
    await deliver(site, cache, visitor_says("Anyone there?"), source)
    assert source.lookups == 1
    assert [m.content.basic.items[0].text for m in site.messages_of(john)] == ["Hey :)", "Anyone there?"]


async def test_a_customer_new_to_wix_is_created_with_what_the_provider_knows(
    site: FakeSite, cache: MemoryIdCache
) -> None:
    source = TableSource({REF: FoundCustomer(emails=("john.doe@acme-inc.com",), first_name="John", last_name="Doe")})
    await deliver(site, cache, visitor_says("Hey :)"), source)
    [created] = site.args("create_contact")
    assert (created["email"], created["first_name"], created["last_name"]) == ("john.doe@acme-inc.com", "John", "Doe")


async def test_an_address_that_is_not_one_is_passed_over(site: FakeSite, cache: MemoryIdCache) -> None:
    source = TableSource({REF: FoundCustomer(emails=("john at acme",), phone="+14155550142")})
    await deliver(site, cache, visitor_says("Hey :)"), source)
    [created] = site.args("create_contact")
    assert (created["email"], created["phone"], created["first_name"]) == (None, "+14155550142", "visitor493603")


async def test_a_visitor_known_only_by_nickname_gets_one_contact_for_the_conversation(site: FakeSite) -> None:
    clock = Clock()
    cache = MemoryIdCache(clock=clock)
    source = TableSource({REF: FoundCustomer()})
    [first] = await deliver(site, cache, visitor_says("Hey :)"), source)
    [created] = site.args("create_contact")
    assert (created["email"], created["phone"], created["first_name"]) == (None, None, "visitor493603")
    # Nothing but the cache can find that contact again: it outlives the usual cache time.
    clock.now += 30 * DAY
    reply = visitor_says("Hey there! Need help?", nickname=None, direction=Direction.OUTBOUND)
    [second] = await deliver(site, cache, reply, source)
    assert second.contact_id == first.contact_id and site.count("create_contact") == 1


async def test_a_contact_found_by_a_looked_up_email_is_asked_for_again_after_the_cache_time(site: FakeSite) -> None:
    clock = Clock()
    cache = MemoryIdCache(clock=clock)
    site.add_contact("john", emails=["john.doe@acme-inc.com"])
    source = TableSource({REF: FoundCustomer(emails=("john.doe@acme-inc.com",))})
    await deliver(site, cache, visitor_says("Hey :)"), source)
    clock.now += 2 * DAY
    await deliver(site, cache, visitor_says("Still there?"), source)
    assert source.lookups == 2 and site.count("create_contact") == 0


async def test_no_contact_is_created_when_nothing_is_known_to_create_it_from(
    site: FakeSite, cache: MemoryIdCache
) -> None:
    reply = visitor_says("Hey there! Need help?", nickname=None, direction=Direction.OUTBOUND)
    with pytest.raises(DeliveryFailed) as caught:
        await deliver(site, cache, reply, TableSource({REF: FoundCustomer()}))
    assert isinstance(caught.value.cause, NoContactError)
    assert str(caught.value.cause) == (
        f"nothing is known of the customer {REF} to create a Wix contact from: no email, phone or name"
    )
    assert site.count("create_contact") == 0


async def test_the_skip_policy_creates_no_contact_known_by_name(site: FakeSite, cache: MemoryIdCache) -> None:
    with pytest.raises(DeliveryFailed) as caught:
        await deliver(site, cache, visitor_says("Hey :)"), TableSource({REF: FoundCustomer()}), missing_contact="skip")
    assert str(caught.value.cause) == (
        f"no Wix contact has the customer {REF} (no email or phone is known) and the missing-contact policy is 'skip'"
    )


async def test_a_source_that_is_gone_cannot_say_who_the_customer_is(site: FakeSite, cache: MemoryIdCache) -> None:
    with pytest.raises(DeliveryFailed) as caught:
        await deliver(site, cache, visitor_says("Hey :)"), None)
    assert isinstance(caught.value.cause, NoContactError)
    assert "its source 'chat' is not configured to look customers up" in str(caught.value.cause)


@pytest.mark.parametrize("retryable", [True, False])
async def test_a_failed_lookup_fails_the_delivery_with_the_providers_words(
    site: FakeSite, cache: MemoryIdCache, retryable: bool
) -> None:
    failure = CustomerLookupError("Crisp 503: unavailable", retryable=retryable)
    with pytest.raises(DeliveryFailed) as caught:
        await deliver(site, cache, visitor_says("Hey :)"), TableSource({}, failure))
    assert caught.value.cause is failure and not caught.value.maybe_posted
    assert site.names() == []


async def test_an_event_with_an_email_is_not_looked_up(site: FakeSite, cache: MemoryIdCache) -> None:
    source = TableSource({})
    await deliver(site, cache, visitor_says("Hey :)", emails=("ann@example.com",)), source)
    assert source.lookups == 0 and site.args("create_contact")[0]["email"] == "ann@example.com"
