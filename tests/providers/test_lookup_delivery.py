"""Stripe and Crisp events that name their customer only by the provider's id, from webhook to Inbox: parsed by the
real source, stored in the delivery queue, delivered by the worker to the Wix sandbox over HTTP, the customer
looked up in the stand-ins of Stripe's and Crisp's APIs. Retried, dead-lettered or delivered as the lookup goes."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import stripe
from connector_support import fixture, request, source_from
from provider_apis import CRISP_IDENTIFIER, CRISP_KEY, STRIPE_KEY, FakeCrisp, FakeStripe, Fault

from inboxbridge.config import PolicySettings, RetrySettings, WorkerSettings
from inboxbridge.events import InboundEvent
from inboxbridge.pipeline import MemoryIdCache, Pipeline
from inboxbridge.providers import Source
from inboxbridge.sandbox import SandboxServer
from inboxbridge.sandbox.config import SandboxConfig, SiteConfig
from inboxbridge.store import EventStatus, MemoryDeliveryQueue
from inboxbridge.tenants import Tenant, TenantDirectory
from inboxbridge.wix import ApiKeyAuth, WixClient
from inboxbridge.worker import Worker

TENANT, SITE, WIX_KEY = "acme", "00000000-0000-4000-8000-000000000001", "key-acme"
STRIPE_SECRET, CRISP_SECRET = "whsec_delivery_test", "crisp-delivery-signing-secret"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    config = SandboxConfig(sites=[SiteConfig(site_id=SITE, name=TENANT, api_keys=[WIX_KEY])], requests_per_minute=10**6)
    server = SandboxServer(config).start()
    yield server
    server.stop()


def stripe_event(name: str, **changes: Any) -> Callable[[Source], list[InboundEvent]]:
    """The events a Stripe source makes of fixture ``name`` (``changes`` to its data.object), signed now."""
    event = fixture(name)
    event["data"]["object"].update(changes)
    body = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(body, STRIPE_SECRET)
    return lambda source: _parsed(source, body.encode(), {"stripe-signature": header})


def crisp_event(name: str, **changes: Any) -> Callable[[Source], list[InboundEvent]]:
    """The events a Crisp source makes of fixture ``name`` (``changes`` to its data), signed now."""
    payload = fixture(name)
    payload["data"].update(changes)
    body = json.dumps(payload, separators=(",", ":"))
    stamp = str(int(datetime.now(UTC).timestamp()))
    mac = hmac.new(CRISP_SECRET.encode(), f"[{stamp};{body}]".encode(), hashlib.sha256).hexdigest()
    return lambda source: _parsed(source, body.encode(), {"x-crisp-request-timestamp": stamp, "x-crisp-signature": mac})


def _parsed(source: Source, body: bytes, headers: dict[str, str]) -> list[InboundEvent]:
    req = request(body, headers, received_at=datetime.now(UTC))
    source.verify(req)
    return source.parse(req, tenant=TENANT)


class Rig:
    """A worker over an in-memory queue, delivering to the sandbox's site, with the tenant's sources."""

    def __init__(self, sandbox: SandboxServer, client: WixClient, sources: dict[str, Source]) -> None:
        self.sandbox = sandbox
        self.sources = sources
        self.queue = MemoryDeliveryQueue(tenants=[TENANT])
        site = client.site(ApiKeyAuth(api_key=WIX_KEY, site_id=SITE))
        tenant = Tenant(name=TENANT, site=site, policy=PolicySettings(), sources=sources)
        settings = WorkerSettings(
            poll_interval_seconds=0.005, retry=RetrySettings(base_seconds=0.05, max_delay_seconds=0.05)
        )
        self.worker = Worker(self.queue, TenantDirectory({TENANT: tenant}), Pipeline(MemoryIdCache()), settings)

    async def post(self, source: str, make: Callable[[Source], list[InboundEvent]]) -> int:
        [stored] = await self.queue.ingest(make(self.sources[source]))
        return stored.event_id

    async def until(self, event_id: int, *states: EventStatus) -> EventStatus:
        async def settled() -> EventStatus:
            while (row := self.queue.row(event_id)) is None or row.status not in states:
                await asyncio.sleep(0.005)
            return row.status

        return await asyncio.wait_for(settled(), 10)

    def last_error(self, event_id: int) -> str | None:
        row = self.queue.row(event_id)
        assert row is not None
        return row.last_error

    def inbox(self) -> dict[str, list[str]]:
        """Each contact's name or email, with the lines and texts of its conversation, oldest first."""
        state = self.sandbox.sandbox.state
        names = {c["id"]: _label(c) for c in state.contacts(SITE)}
        return {
            names[c.doc["participant"]["contactId"]]: [_text(m) for m in state.messages(c.id, descending=False)]
            for c in state.conversations(SITE)
        }


def _label(contact: dict[str, Any]) -> str:
    info = contact.get("info", {})
    emails = [e["email"] for e in info.get("emails", {}).get("items", [])]
    name = " ".join(p for p in (info.get("name", {}).get("first"), info.get("name", {}).get("last")) if p)
    return emails[0] if emails else name


def _text(message: dict[str, Any]) -> str:
    content = message["content"]
    return str(content["minimal"]["text"] if "minimal" in content else content["basic"]["items"][0]["text"])


@asynccontextmanager
async def running(sandbox: SandboxServer, sources: dict[str, Source]) -> AsyncIterator[Rig]:
    sandbox.sandbox.state.wipe()
    sandbox.sandbox.state.put_site(SITE, TENANT, [WIX_KEY])
    async with WixClient(sandbox.url, rate_limit_per_second=1000, rate_limit_burst=100) as client:
        rig = Rig(sandbox, client, sources)
        stop = asyncio.Event()
        task = asyncio.create_task(rig.worker.run(stop))
        try:
            yield rig
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)


def stripe_source(api: FakeStripe) -> Source:
    return source_from(
        {"type": "stripe", "signing_secret": STRIPE_SECRET, "api_key": STRIPE_KEY, "api_base_url": api.url},
        name="stripe",
        clock=lambda: datetime.now(UTC),
    )


def crisp_source(api: FakeCrisp | None = None) -> Source:
    table: dict[str, Any] = {"type": "crisp", "secret": CRISP_SECRET}
    if api is not None:
        table |= {"api_identifier": CRISP_IDENTIFIER, "api_key": CRISP_KEY, "api_base_url": api.url}
    return source_from(table, name="crisp", clock=lambda: datetime.now(UTC))


async def test_a_current_stripe_payment_lands_in_the_conversation_of_the_customers_email(
    sandbox: SandboxServer,
) -> None:
    async with FakeStripe() as api:
        api.add("stripe_customer_retrieve_example")
        async with running(sandbox, {"stripe": stripe_source(api)}) as rig:
            payment = await rig.post("stripe", stripe_event("stripe_2026_payment_intent_succeeded"))
            assert await rig.until(payment, EventStatus.DELIVERED, EventStatus.DEAD) is EventStatus.DELIVERED
            assert rig.inbox() == {"jennyrosen@example.com": ["Payment received: $10.99"]}
    [contact] = sandbox.sandbox.state.contacts(SITE)
    assert contact["info"]["name"] == {"first": "Jenny", "last": "Rosen"}


async def test_a_stripe_lookup_that_fails_for_now_is_retried_until_it_succeeds(sandbox: SandboxServer) -> None:
    async with FakeStripe() as api:
        api.add("stripe_customer_retrieve_example")
        api.faults.append(Fault(503, {"error": {"type": "api_error", "message": "Stripe is busy"}}))
        async with running(sandbox, {"stripe": stripe_source(api)}) as rig:
            payment = await rig.post("stripe", stripe_event("stripe_2026_payment_intent_succeeded"))
            assert await rig.until(payment, EventStatus.DELIVERED, EventStatus.DEAD) is EventStatus.DELIVERED
            assert rig.inbox() == {"jennyrosen@example.com": ["Payment received: $10.99"]}
            attempts = rig.queue.tries(payment)
    assert [a.outcome for a in attempts] == ["retry", "delivered"]
    assert attempts[0].detail == "customer lookup: Stripe 503: Stripe is busy"


@pytest.mark.parametrize(
    ("customer", "reason"),
    [
        (None, "customer lookup: Stripe 404: No such customer: 'cus_NffrFeUfNV2Hib' (resource_missing)"),
        (
            "stripe_2026_customer",
            "customer lookup: Stripe customer cus_QXg1o8vcGmoR32 has no email or phone: add one in the Stripe "
            "Dashboard, then replay the event",
        ),
    ],
)
async def test_a_stripe_customer_who_cannot_be_reached_is_dead_lettered_with_the_reason(
    sandbox: SandboxServer, customer: str | None, reason: str
) -> None:
    async with FakeStripe() as api:
        changes = {}
        if customer is not None:
            changes["customer"] = api.add(customer)["id"]
        async with running(sandbox, {"stripe": stripe_source(api)}) as rig:
            payment = await rig.post("stripe", stripe_event("stripe_2026_payment_intent_succeeded", **changes))
            assert await rig.until(payment, EventStatus.DELIVERED, EventStatus.DEAD) is EventStatus.DEAD
            assert rig.last_error(payment) == reason
            assert rig.inbox() == {}


async def test_a_crisp_conversation_without_a_token_is_one_contact_named_after_the_visitor(
    sandbox: SandboxServer,
) -> None:
    session = {
        "website_id": "8c842203-7ed8-4e29-a608-7cf78a7d2fcc",
        "session_id": "session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881",
    }
    async with running(sandbox, {"crisp": crisp_source()}) as rig:
        hello = await rig.post("crisp", crisp_event("crisp_message_send", **session))
        await rig.until(hello, EventStatus.DELIVERED)
        reply = await rig.post("crisp", crisp_event("crisp_message_received"))
        await rig.until(reply, EventStatus.DELIVERED)
        assert rig.inbox() == {"visitor493603": ["Hey :)", "Hey there! Need help?"]}


async def test_a_crisp_visitors_email_is_looked_up_with_the_token(sandbox: SandboxServer) -> None:
    async with FakeCrisp() as api:
        api.add("8c842203-7ed8-4e29-a608-7cf78a7d2fcc", "session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881")
        async with running(sandbox, {"crisp": crisp_source(api)}) as rig:
            reply = await rig.post("crisp", crisp_event("crisp_message_received"))
            await rig.until(reply, EventStatus.DELIVERED)
            assert rig.inbox() == {"john.doe@acme-inc.com": ["Hey there! Need help?"]}
