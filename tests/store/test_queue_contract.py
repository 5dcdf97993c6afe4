"""One contract for every delivery queue: in memory, on SQLite and on PostgreSQL, the same calls give the same
answers (per-key order, leases, retries, dead letters, replay, parking, fairness, deduplication)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from conftest import START, ManualClock, attempt, make_event

from inboxbridge.store import (
    DeliveryQueue,
    EventRow,
    EventStatus,
    LeaseLost,
    MemoryDeliveryQueue,
    SendState,
    Store,
)


@dataclass
class Subject:
    """A queue under test, with the tenants acme and beta registered, and a way to read an event back."""

    queue: DeliveryQueue
    read: Callable[[int], Awaitable[EventRow | None]]
    clock: ManualClock

    async def row(self, event_id: int) -> EventRow:
        row = await self.read(event_id)
        assert row is not None
        return row


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def queue_url(backend: str, request: pytest.FixtureRequest) -> str | None:
    """The migrated database of a SQL queue (set up outside the test's event loop); None for the memory queue."""
    return None if backend == "memory" else str(request.getfixturevalue("migrated_url"))


@pytest.fixture
async def subject(queue_url: str | None, clock: ManualClock) -> AsyncIterator[Subject]:
    if queue_url is None:
        memory = MemoryDeliveryQueue(clock=clock, tenants=["acme", "beta"])

        async def read(event_id: int) -> EventRow | None:
            return memory.row(event_id)

        yield Subject(memory, read, clock)
        return
    store = await Store.open(queue_url, clock=clock)
    await store.ledger.upsert_tenant("acme")
    await store.ledger.upsert_tenant("beta")
    try:
        yield Subject(store.queue, store.ledger.get_event, clock)
    finally:
        await store.close()


def _static_check(memory: MemoryDeliveryQueue) -> DeliveryQueue:
    """mypy checks here that the in-memory queue has the protocol's every method."""
    return memory


async def test_a_repeat_is_a_duplicate_and_a_batch_of_an_unknown_tenant_stores_nothing(subject: Subject) -> None:
    queue = subject.queue
    first = await queue.ingest([make_event(external_id="1"), make_event(external_id="1")])
    assert [r.duplicate for r in first] == [False, True]
    assert first[0].event_id == first[1].event_id
    [again] = await queue.ingest([make_event(external_id="1")])
    assert again.duplicate and again.event_id == first[0].event_id
    with pytest.raises(ValueError, match="unknown tenant"):
        await queue.ingest([make_event(external_id="2"), make_event(tenant="nobody", external_id="3")])
    claimed = await queue.claim("w", 10, 60)
    assert [c.event_id for c in claimed] == [first[0].event_id]


async def test_one_event_per_customer_at_a_time_oldest_first(subject: Subject) -> None:
    queue = subject.queue
    late = await queue.ingest([make_event(external_id="b", minute=2)])
    early = await queue.ingest([make_event(external_id="a", minute=1)])
    other = await queue.ingest([make_event("bob@example.com", external_id="c", minute=3)])
    claimed = await queue.claim("w", 10, 60)
    assert sorted(c.event_id for c in claimed) == sorted([early[0].event_id, other[0].event_id])
    assert await queue.claim("w", 10, 60) == []
    head = next(c for c in claimed if c.event_id == early[0].event_id)
    await queue.ack(head.event_id, head.lease_token, attempt=attempt(), conversation_id="conv", message_id="m")
    [following] = await queue.claim("w", 10, 60)
    assert following.event_id == late[0].event_id
    row = await subject.row(head.event_id)
    assert (row.status, row.conversation_id, row.wix_message_id, row.attempts) == (
        EventStatus.DELIVERED,
        "conv",
        "m",
        1,
    )


async def test_a_claim_records_a_possible_send_and_an_expired_lease_is_taken_over(subject: Subject) -> None:
    queue = subject.queue
    [stored] = await queue.ingest([make_event(external_id="1")])
    [first] = await queue.claim("w1", 10, 30)
    assert first.send_state is SendState.NONE and first.attempts == 0
    assert (await subject.row(stored.event_id)).send_state is SendState.UNKNOWN
    subject.clock.advance(10)
    assert await queue.claim("w2", 10, 30) == []
    subject.clock.advance(25)
    [second] = await queue.claim("w2", 10, 30)
    # The second claimant knows an earlier try may have sent, and since when.
    assert second.send_state is SendState.UNKNOWN
    assert second.sending_started_at == START
    with pytest.raises(LeaseLost):
        await queue.ack(first.event_id, first.lease_token, attempt=attempt())
    with pytest.raises(LeaseLost):
        await queue.extend_lease(first.event_id, first.lease_token, 60)
    await queue.ack(second.event_id, second.lease_token, attempt=attempt())
    with pytest.raises(LeaseLost):
        await queue.ack(second.event_id, second.lease_token, attempt=attempt())


async def test_an_extended_lease_keeps_the_event(subject: Subject) -> None:
    queue = subject.queue
    await queue.ingest([make_event(external_id="1")])
    [claimed] = await queue.claim("w1", 10, 30)
    subject.clock.advance(20)
    expires = await queue.extend_lease(claimed.event_id, claimed.lease_token, 30)
    assert expires == START + timedelta(seconds=50)
    subject.clock.advance(20)
    assert await queue.claim("w2", 10, 30) == []
    subject.clock.advance(11)
    assert len(await queue.claim("w2", 10, 30)) == 1


async def test_a_retry_waits_its_turn_and_counts_the_try(subject: Subject) -> None:
    queue = subject.queue
    await queue.ingest([make_event(external_id="1")])
    [claimed] = await queue.claim("w", 10, 60)
    await queue.retry(
        claimed.event_id,
        claimed.lease_token,
        attempt=attempt("retry"),
        next_attempt_at=START + timedelta(seconds=30),
        error="Wix 503",
        send_state=SendState.NONE,
        conversation_id="conv",
    )
    assert await queue.claim("w", 10, 60) == []
    subject.clock.advance(30)
    [again] = await queue.claim("w", 10, 60)
    assert (again.attempts, again.send_state, again.conversation_id) == (1, SendState.NONE, "conv")
    row = await subject.row(again.event_id)
    assert row.last_error == "Wix 503"


async def test_a_retry_after_an_unknown_outcome_keeps_when_the_send_began(subject: Subject) -> None:
    queue = subject.queue
    await queue.ingest([make_event(external_id="1")])
    [claimed] = await queue.claim("w", 10, 60)
    subject.clock.advance(5)
    await queue.retry(
        claimed.event_id,
        claimed.lease_token,
        attempt=attempt("retry"),
        next_attempt_at=START + timedelta(seconds=5),
        error="timeout",
        send_state=SendState.UNKNOWN,
    )
    [again] = await queue.claim("w", 10, 60)
    assert again.send_state is SendState.UNKNOWN
    assert again.sending_started_at == START


async def test_a_dead_letter_is_kept_until_replayed(subject: Subject) -> None:
    queue = subject.queue
    [stored] = await queue.ingest([make_event(external_id="1")])
    await queue.ingest([make_event(external_id="2", minute=1)])
    [claimed] = await queue.claim("w", 10, 60)
    await queue.dead_letter(claimed.event_id, claimed.lease_token, attempt=attempt("dead"), reason="Wix 400 bad")
    row = await subject.row(stored.event_id)
    assert (row.status, row.last_error, row.attempts) == (EventStatus.DEAD, "Wix 400 bad", 1)
    # A dead head no longer holds its customer's queue.
    [following] = await queue.claim("w", 10, 60)
    await queue.ack(following.event_id, following.lease_token, attempt=attempt())
    assert await queue.replay([stored.event_id, following.event_id]) == 1
    [replayed] = await queue.claim("w", 10, 60)
    assert (replayed.event_id, replayed.attempts) == (stored.event_id, 0)
    await queue.dead_letter(replayed.event_id, replayed.lease_token, attempt=attempt("dead"), reason="again")
    assert await queue.replay_dead(tenant="beta") == 0
    assert await queue.replay_dead(tenant="acme", source="chat") == 1


async def test_a_release_hands_the_event_back_untried(subject: Subject) -> None:
    queue = subject.queue
    await queue.ingest([make_event(external_id="1")])
    [claimed] = await queue.claim("w", 10, 60)
    await queue.release(claimed.event_id, claimed.lease_token, send_state=SendState.NONE)
    [again] = await queue.claim("w", 10, 60)
    assert (again.attempts, again.send_state) == (0, SendState.NONE)
    await queue.release(again.event_id, again.lease_token)
    [third] = await queue.claim("w", 10, 60)
    assert third.send_state is SendState.UNKNOWN
    with pytest.raises(LeaseLost):
        await queue.release(again.event_id, again.lease_token)


async def test_a_release_not_before_a_time_keeps_the_key_waiting_until_then(subject: Subject) -> None:
    """A send handed back mid-flight may still be open at Wix: neither it nor the customer's next event goes
    until the settle time has passed."""
    queue = subject.queue
    await queue.ingest([make_event(external_id="1"), make_event(external_id="2", minute=1)])
    [claimed] = await queue.claim("w", 10, 60)
    await queue.release(claimed.event_id, claimed.lease_token, not_before=subject.clock.now + timedelta(seconds=30))
    assert await queue.claim("w", 10, 60) == []
    subject.clock.advance(29)
    assert await queue.claim("w", 10, 60) == []
    subject.clock.advance(1)
    [again] = await queue.claim("w", 10, 60)
    assert (again.event_id, again.attempts, again.send_state) == (claimed.event_id, 0, SendState.UNKNOWN)


async def test_a_claim_of_a_lost_lease_says_when_that_lease_ended(subject: Subject) -> None:
    queue = subject.queue
    await queue.ingest([make_event(external_id="1")])
    [first] = await queue.claim("dies", 10, 60)
    assert first.lost_lease_expired_at is None
    subject.clock.advance(61)
    [taken] = await queue.claim("next", 10, 60)
    assert taken.event_id == first.event_id and taken.lost_lease_expired_at == first.lease_expires_at
    await queue.release(taken.event_id, taken.lease_token)
    [released] = await queue.claim("next", 10, 60)
    assert released.lost_lease_expired_at is None


async def test_a_stopped_tenant_s_events_are_parked_at_ingest_until_it_starts(subject: Subject) -> None:
    queue = subject.queue
    [waiting] = await queue.ingest([make_event(external_id="1")])
    assert await queue.stop_tenant("acme") == 1
    [late] = await queue.ingest([make_event(external_id="2", minute=1)])
    [beta] = await queue.ingest([make_event(tenant="beta", external_id="3")])
    assert late.parked and not waiting.parked and not beta.parked
    assert (await subject.row(late.event_id)).status is EventStatus.PARKED
    assert [c.event_id for c in await queue.claim("w", 10, 60)] == [beta.event_id]
    assert await queue.start_tenant("acme") == 2
    [head] = await queue.claim("w", 10, 60)
    assert head.event_id == waiting.event_id
    with pytest.raises(ValueError, match="unknown tenant"):
        await queue.stop_tenant("nobody")


async def test_tenants_take_turns_in_a_claim(subject: Subject) -> None:
    queue = subject.queue
    backlog = [make_event(f"a{i}@example.com", external_id=f"a{i}") for i in range(6)]
    await queue.ingest(backlog)
    subject.clock.advance(1)
    [fresh] = await queue.ingest([make_event("b@example.com", tenant="beta", external_id="b")])
    claimed = await queue.claim("w", 2, 60)
    assert len(claimed) == 2
    assert fresh.event_id in [c.event_id for c in claimed]
    assert await queue.claim("w", 0, 60) == []
