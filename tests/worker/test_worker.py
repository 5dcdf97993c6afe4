"""The worker over the in-memory delivery queue and a fake Wix site: what it does with each outcome of a delivery,
in milliseconds (no database, no HTTP). The SQL queue is held to the same contract in tests/store."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest

from inboxbridge.config import MissingContactPolicy, PolicySettings, RetrySettings, WorkerSettings
from inboxbridge.events import EventKind, InboundEvent
from inboxbridge.pipeline import MemoryIdCache, Pipeline
from inboxbridge.store import EventStatus, MemoryDeliveryQueue, SendState
from inboxbridge.tenants import Tenant, TenantDirectory
from inboxbridge.wix import WixBadRequestError, WixServerError, WixTimeoutError
from inboxbridge.worker import Worker
from pipeline.fake_wix import START, FakeSite

TENANT = "shop"


class Clock:
    """The queue's clock: real time going by since the fake site's START, the time it stamps on what it stores."""

    def __init__(self) -> None:
        self.began = time.monotonic()

    def __call__(self) -> datetime:
        return START + timedelta(seconds=time.monotonic() - self.began)


def message(text: str, *, email: str = "ann@example.com", minute: int = 0) -> InboundEvent:
    return InboundEvent(
        tenant=TENANT,
        source="chat",
        kind=EventKind.MESSAGE,
        occurred_at=START + timedelta(minutes=minute),
        emails=(email,),
        text=text,
    )


def texts(site: FakeSite, contact_email: str = "ann@example.com") -> list[str]:
    [contact_id] = [c for c in site.contact_ids if site.contact(c).primary_info.email == contact_email]
    return [item.text for m in site.messages_of(contact_id) for item in m.content.basic.items]  # type: ignore[union-attr]


class Rig:
    """A worker, its queue and the Wix site it delivers to."""

    def __init__(
        self, site: FakeSite, *, policy: PolicySettings | None = None, settle_seconds: float = 0.0, **settings: Any
    ) -> None:
        self.site = site
        self.clock = Clock()
        self.queue = MemoryDeliveryQueue(clock=self.clock, tenants=[TENANT])
        tenant = Tenant(name=TENANT, site=site, policy=policy or PolicySettings())  # type: ignore[arg-type]
        self.tenants = TenantDirectory({TENANT: tenant})
        defaults: dict[str, Any] = {"poll_interval_seconds": 0.005, "shutdown_grace_seconds": 0.5}
        self.settings = WorkerSettings(**{**defaults, **settings})
        self.worker = Worker(
            self.queue,
            self.tenants,
            Pipeline(MemoryIdCache()),
            self.settings,
            rng=random.Random(7),
            settle_seconds=settle_seconds,
        )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[asyncio.Event]:
        stop = asyncio.Event()
        task = asyncio.create_task(self.worker.run(stop))
        try:
            yield stop
        finally:
            stop.set()
            await asyncio.wait_for(task, 5)

    async def until(self, done: Callable[[], bool]) -> None:
        async def wait() -> None:
            while not done():
                await asyncio.sleep(0.002)

        await asyncio.wait_for(wait(), 5)

    def status(self, event_id: int) -> EventStatus:
        row = self.queue.row(event_id)
        assert row is not None
        return row.status


@pytest.fixture
def site() -> FakeSite:
    return FakeSite()


async def test_each_customer_s_messages_arrive_in_order_others_in_parallel(site: FakeSite) -> None:
    rig = Rig(site)
    await rig.queue.ingest([message(f"ann {n}", minute=n) for n in (2, 0, 1)])
    await rig.queue.ingest([message("bob 0", email="bob@example.com")])
    async with rig.running():
        await rig.until(lambda: rig.queue.counts()["delivered"] == 4)
    assert texts(site) == ["ann 0", "ann 1", "ann 2"]
    assert texts(site, "bob@example.com") == ["bob 0"]
    # Known customers cost one call per message once their ids are cached.
    assert site.count("send_message") == 4 and site.count("create_contact") == 2


async def test_a_retryable_failure_is_tried_again_later_and_recorded(site: FakeSite) -> None:
    site.fail("send_message", WixServerError("busy", status=503))
    rig = Rig(site, retry=RetrySettings(base_seconds=0.02, max_delay_seconds=0.02))
    [stored] = await rig.queue.ingest([message("hello")])
    async with rig.running():
        await rig.until(lambda: rig.status(stored.event_id) is EventStatus.DELIVERED)
    assert [t.outcome for t in rig.queue.tries(stored.event_id)] == ["retry", "delivered"]
    assert rig.queue.tries(stored.event_id)[0].wix_status == 503
    assert texts(site) == ["hello"]


async def test_a_permanent_failure_is_dead_lettered_with_wix_s_words(site: FakeSite) -> None:
    site.fail("send_message", WixBadRequestError("text too long", status=400, code="INVALID_ARGUMENT"))
    rig = Rig(site)
    [stored] = await rig.queue.ingest([message("hello")])
    async with rig.running():
        await rig.until(lambda: rig.status(stored.event_id) is EventStatus.DEAD)
    row = rig.queue.row(stored.event_id)
    assert row is not None and row.last_error is not None
    assert "400" in row.last_error and "INVALID_ARGUMENT" in row.last_error and "text too long" in row.last_error
    assert site.count("send_message") == 1


async def test_no_contact_under_the_skip_policy_is_dead_lettered_without_creating_one(site: FakeSite) -> None:
    rig = Rig(site, policy=PolicySettings(missing_contact=MissingContactPolicy.SKIP))
    [stored] = await rig.queue.ingest([message("hello")])
    async with rig.running():
        await rig.until(lambda: rig.status(stored.event_id) is EventStatus.DEAD)
    row = rig.queue.row(stored.event_id)
    assert row is not None and "skip" in (row.last_error or "")
    assert site.count("create_contact") == 0


async def test_a_send_whose_answer_was_lost_is_not_posted_twice(site: FakeSite) -> None:
    site.fail("send_message", WixTimeoutError("no answer", outcome_unknown=True), applied=True)
    rig = Rig(site, retry=RetrySettings(base_seconds=0.02, max_delay_seconds=0.02))
    [stored] = await rig.queue.ingest([message("hello")])
    async with rig.running():
        await rig.until(lambda: rig.status(stored.event_id) is EventStatus.DELIVERED)
    assert [t.outcome for t in rig.queue.tries(stored.event_id)] == ["retry", "already_delivered"]
    assert texts(site) == ["hello"]
    assert site.count("list_messages") == 1


async def test_retries_give_up_after_the_configured_time(site: FakeSite) -> None:
    for call in range(1, 10):
        site.fail("send_message", WixServerError("down", status=503), on_call=call)
    settings = RetrySettings(base_seconds=0.01, max_delay_seconds=0.01, give_up_after_seconds=0.02)
    rig = Rig(site, retry=settings)
    [stored] = await rig.queue.ingest([message("hello")])
    async with rig.running():
        await rig.until(lambda: rig.status(stored.event_id) is EventStatus.DEAD)
    row = rig.queue.row(stored.event_id)
    assert row is not None and (row.last_error or "").startswith("gave up after 3 tries")


async def test_an_event_of_a_tenant_no_longer_configured_is_dead_lettered(site: FakeSite) -> None:
    rig = Rig(site)
    rig.queue.add_tenant("gone")
    [stored] = await rig.queue.ingest([message("hello").model_copy(update={"tenant": "gone"})])
    async with rig.running():
        await rig.until(lambda: rig.status(stored.event_id) is EventStatus.DEAD)
    assert "no longer configured" in (rig.queue.row(stored.event_id).last_error or "")  # type: ignore[union-attr]


class StalledSite(FakeSite):
    """A site whose chosen call never answers, as a Wix that hangs."""

    def __init__(self, stalls: str) -> None:
        super().__init__()
        self.stalls = stalls
        self.entered = asyncio.Event()

    async def get_or_create_conversation(self, **args: Any) -> Any:
        if self.stalls == "get_or_create_conversation":
            self.entered.set()
            await asyncio.Event().wait()
        return await super().get_or_create_conversation(**args)

    async def send_message(self, *args: Any, **kwargs: Any) -> Any:
        if self.stalls == "send_message":
            self.entered.set()
            await asyncio.Event().wait()
        return await super().send_message(*args, **kwargs)


@pytest.mark.parametrize(
    ("stalls", "left"),
    [("get_or_create_conversation", SendState.NONE), ("send_message", SendState.UNKNOWN)],
)
async def test_a_stopped_worker_hands_its_deliveries_back(stalls: str, left: SendState) -> None:
    site = StalledSite(stalls)
    rig = Rig(site, shutdown_grace_seconds=0.01)
    [stored] = await rig.queue.ingest([message("hello")])
    async with rig.running():
        await asyncio.wait_for(site.entered.wait(), 5)
    row = rig.queue.row(stored.event_id)
    assert row is not None
    # Pending again at once, no try counted; certainly unsent only if the send had not begun.
    assert (row.status, row.attempts, row.send_state, row.lease_token) == (EventStatus.PENDING, 0, left, None)


async def test_a_send_handed_back_mid_flight_waits_the_settle_time() -> None:
    site = StalledSite("send_message")
    rig = Rig(site, shutdown_grace_seconds=0.01, settle_seconds=30)
    [stored] = await rig.queue.ingest([message("hello")])
    async with rig.running():
        await asyncio.wait_for(site.entered.wait(), 5)
    handed_back = rig.clock()
    row = rig.queue.row(stored.event_id)
    assert row is not None and (row.status, row.attempts) == (EventStatus.PENDING, 0)
    # Wix may still be handling the send: neither it nor a later message of the customer goes before then.
    assert timedelta(seconds=29) < row.next_attempt_at - handed_back <= timedelta(seconds=30)


async def test_a_send_that_timed_out_is_looked_for_only_after_the_settle_time(site: FakeSite) -> None:
    site.fail("send_message", WixTimeoutError("no answer", outcome_unknown=True), applied=True)
    rig = Rig(site, settle_seconds=30, retry=RetrySettings(base_seconds=0.02, max_delay_seconds=0.02))
    [stored, later] = await rig.queue.ingest([message("hello"), message("next", minute=1)])
    async with rig.running():
        await rig.until(lambda: len(rig.queue.tries(stored.event_id)) == 1)
        await asyncio.sleep(0.05)
    row = rig.queue.row(stored.event_id)
    assert row is not None and row.send_state is SendState.UNKNOWN
    [tried] = rig.queue.tries(stored.event_id)
    assert row.next_attempt_at - tried.finished_at >= timedelta(seconds=30)
    assert site.count("list_messages") == 0 and site.count("send_message") == 1
    # The customer's next message waits behind it, so nothing else goes into that conversation meanwhile.
    assert rig.status(later.event_id) is EventStatus.PENDING and rig.queue.tries(later.event_id) == []


async def test_a_delivery_outliving_a_third_of_its_lease_keeps_it(site: FakeSite) -> None:
    stalled = StalledSite("send_message")
    rig = Rig(stalled, lease_seconds=0.06, shutdown_grace_seconds=0.01)
    [stored] = await rig.queue.ingest([message("hello")])
    async with rig.running():
        await asyncio.wait_for(stalled.entered.wait(), 5)
        first = rig.queue.row(stored.event_id)
        await asyncio.sleep(0.15)
        later = rig.queue.row(stored.event_id)
        assert first is not None and later is not None
        assert later.lease_expires_at is not None and first.lease_expires_at is not None
        assert later.lease_expires_at > first.lease_expires_at
        # Nobody else can take it meanwhile.
        assert await rig.queue.claim("other", 10, 60) == []


async def test_an_event_taken_from_a_dead_worker_waits_until_its_send_has_settled(site: FakeSite) -> None:
    rig = Rig(site, settle_seconds=30, lease_seconds=0.05)
    [stored] = await rig.queue.ingest([message("hello")])
    [dead] = await rig.queue.claim("a worker that died mid-send", 1, 0.05)
    assert dead.lease_expires_at is not None
    await asyncio.sleep(0.06)
    async with rig.running():
        await rig.until(lambda: rig.status(stored.event_id) is EventStatus.PENDING)
    row = rig.queue.row(stored.event_id)
    assert row is not None and (row.attempts, row.send_state) == (0, SendState.UNKNOWN)
    # Its send may be open at Wix until the dead worker's lease ended plus the settle time.
    assert row.next_attempt_at == dead.lease_expires_at + timedelta(seconds=30)
    assert site.names() == []
