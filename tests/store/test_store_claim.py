"""Claiming: per-customer order, one event in flight per key, leases, and fairness between tenants."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import ManualClock, attempt, make_event

from inboxbridge.store import LeaseLost, SendState, Store


async def _ids(store: Store, worker: str = "w1", limit: int = 10, lease: float = 60) -> list[int]:
    return [c.event_id for c in await store.queue.claim(worker, limit, lease)]


async def test_events_ingested_out_of_order_are_claimed_in_occurred_order(store: Store) -> None:
    results = await store.queue.ingest([make_event(external_id=str(m), minute=m) for m in (3, 1, 2)])
    by_minute = {m: r.event_id for m, r in zip((3, 1, 2), results, strict=True)}
    delivered = []
    for _ in range(3):
        [claimed] = await store.queue.claim("w1", 10, 60)
        delivered.append(claimed.event_id)
        await store.queue.ack(claimed.event_id, claimed.lease_token, attempt=attempt())
    assert delivered == [by_minute[1], by_minute[2], by_minute[3]]
    assert await store.queue.claim("w1", 10, 60) == []


async def test_one_event_per_key_per_claim_and_while_in_flight(store: Store) -> None:
    await store.queue.ingest(
        [
            make_event(f"{who}@example.com", external_id=f"{who}{m}", minute=m)
            for who in ("ann", "bob")
            for m in range(3)
        ]
    )
    claimed = await store.queue.claim("w1", 10, 60)
    assert sorted(c.event.email or "" for c in claimed) == ["ann@example.com", "bob@example.com"]
    assert all(c.event.occurred_at.minute == 0 for c in claimed)
    assert await store.queue.claim("w2", 10, 60) == []


async def test_claimed_event_carries_what_the_worker_needs(store: Store, clock: ManualClock) -> None:
    event = make_event(external_id="e")
    [result] = await store.queue.ingest([event])
    [claimed] = await store.queue.claim("w1", 1, 30)
    assert claimed.event_id == result.event_id
    assert claimed.event == event
    assert claimed.attempts == 0
    assert claimed.send_state is SendState.NONE
    assert claimed.conversation_id is None and claimed.sending_started_at is None
    assert claimed.lease_expires_at == clock.now + timedelta(seconds=30)
    row = await store.ledger.get_event(result.event_id)
    assert row is not None
    assert (row.status, row.lease_owner, row.lease_token) == ("in_flight", "w1", claimed.lease_token)
    assert row.send_state is SendState.UNKNOWN


async def test_a_late_older_event_waits_for_the_one_in_flight(store: Store, clock: ManualClock) -> None:
    [later] = await store.queue.ingest([make_event(external_id="later", minute=5)])
    [in_flight] = await store.queue.claim("w1", 10, 60)
    [older] = await store.queue.ingest([make_event(external_id="older", minute=1)])
    assert await store.queue.claim("w2", 10, 60) == []
    clock.advance(30)
    assert await store.queue.claim("w2", 10, 60) == []
    await store.queue.ack(in_flight.event_id, in_flight.lease_token, attempt=attempt())
    assert await _ids(store, "w2") == [older.event_id]
    assert in_flight.event_id == later.event_id


async def test_after_a_dead_workers_lease_the_late_older_event_goes_first(store: Store, clock: ManualClock) -> None:
    [later] = await store.queue.ingest([make_event(external_id="later", minute=5)])
    [lost] = await store.queue.claim("w1", 10, 60)
    assert lost.event_id == later.event_id
    lost_at = clock.now
    [older] = await store.queue.ingest([make_event(external_id="older", minute=1)])
    clock.advance(61)
    [first] = await store.queue.claim("w2", 10, 60)
    assert first.event_id == older.event_id
    assert await store.queue.claim("w3", 10, 60) == []
    await store.queue.ack(first.event_id, first.lease_token, attempt=attempt())
    [again] = await store.queue.claim("w2", 10, 60)
    assert again.event_id == later.event_id
    assert (again.send_state, again.sending_started_at) == (SendState.UNKNOWN, lost_at)


async def test_a_retry_scheduled_later_blocks_its_key(store: Store, clock: ManualClock) -> None:
    first, second = await store.queue.ingest(
        [make_event(external_id="1", minute=1), make_event(external_id="2", minute=2)]
    )
    [other] = await store.queue.ingest([make_event("bob@example.com", external_id="b")])
    claimed = {c.event_id: c for c in await store.queue.claim("w1", 10, 60)}
    head = claimed[first.event_id]
    await store.queue.retry(
        head.event_id,
        head.lease_token,
        attempt=attempt("retry"),
        next_attempt_at=clock.now + timedelta(seconds=120),
        error="503",
        send_state=SendState.NONE,
    )
    await store.queue.ack(other.event_id, claimed[other.event_id].lease_token, attempt=attempt())
    assert await store.queue.claim("w1", 10, 60) == []
    clock.advance(119)
    assert await store.queue.claim("w1", 10, 60) == []
    clock.advance(1)
    [retried] = await store.queue.claim("w1", 10, 60)
    assert retried.event_id == first.event_id
    assert retried.attempts == 1
    await store.queue.ack(retried.event_id, retried.lease_token, attempt=attempt())
    assert await _ids(store) == [second.event_id]


@pytest.mark.parametrize("finish", ["dead", "delivered"])
async def test_dead_and_delivered_events_do_not_block(store: Store, finish: str) -> None:
    first, second = await store.queue.ingest(
        [make_event(external_id="1", minute=1), make_event(external_id="2", minute=2)]
    )
    [head] = await store.queue.claim("w1", 10, 60)
    assert head.event_id == first.event_id
    if finish == "dead":
        await store.queue.dead_letter(head.event_id, head.lease_token, attempt=attempt("dead"), reason="400 bad")
    else:
        await store.queue.ack(head.event_id, head.lease_token, attempt=attempt())
    assert await _ids(store) == [second.event_id]


async def test_stopped_tenants_are_not_claimed(store: Store) -> None:
    [event] = await store.queue.ingest([make_event(external_id="1")])
    await store.queue.stop_tenant("acme")
    assert await store.queue.claim("w1", 10, 60) == []
    await store.queue.start_tenant("acme")
    assert await _ids(store) == [event.event_id]


async def test_oldest_work_first_and_limit_respected(store: Store, clock: ManualClock) -> None:
    ids = []
    for i in range(5):
        [result] = await store.queue.ingest([make_event(f"c{i}@example.com", external_id=str(i))])
        ids.append(result.event_id)
        clock.advance(1)
    assert await _ids(store, limit=2) == ids[:2]
    assert await _ids(store, limit=10) == ids[2:]
    assert await store.queue.claim("w1", 0, 60) == []


async def test_a_big_backlog_does_not_starve_another_tenant(store: Store, clock: ManualClock) -> None:
    await store.queue.ingest([make_event(f"c{i}@example.com", external_id=str(i)) for i in range(1000)])
    clock.advance(5)
    [fresh] = await store.queue.ingest([make_event(tenant="beta", external_id="fresh")])
    claimed = await store.queue.claim("w1", 10, 60)
    assert len(claimed) == 10
    assert fresh.event_id in [c.event_id for c in claimed]
    assert sum(c.event.tenant == "acme" for c in claimed) == 9


async def test_tenants_share_a_claim_evenly(store: Store) -> None:
    await store.ledger.upsert_tenant("gamma")
    for tenant in ("acme", "beta", "gamma"):
        await store.queue.ingest(
            [make_event(f"c{i}@example.com", tenant=tenant, external_id=str(i)) for i in range(10)]
        )
    claimed = await store.queue.claim("w1", 9, 60)
    assert sorted(c.event.tenant for c in claimed) == ["acme"] * 3 + ["beta"] * 3 + ["gamma"] * 3


async def test_expired_lease_is_taken_over_and_the_old_holder_loses_it(store: Store, clock: ManualClock) -> None:
    await store.queue.ingest([make_event(external_id="1")])
    [old] = await store.queue.claim("w1", 10, 60)
    clock.advance(59)
    assert await store.queue.claim("w2", 10, 60) == []
    clock.advance(1)
    [new] = await store.queue.claim("w2", 10, 60)
    assert new.event_id == old.event_id and new.lease_token != old.lease_token
    assert new.send_state is SendState.UNKNOWN
    assert new.sending_started_at == clock.now - timedelta(seconds=60)
    with pytest.raises(LeaseLost):
        await store.queue.ack(old.event_id, old.lease_token, attempt=attempt())
    with pytest.raises(LeaseLost):
        await store.queue.retry(
            old.event_id,
            old.lease_token,
            attempt=attempt("retry"),
            next_attempt_at=clock.now,
            error="x",
            send_state=SendState.NONE,
        )
    with pytest.raises(LeaseLost):
        await store.queue.dead_letter(old.event_id, old.lease_token, attempt=attempt("dead"), reason="x")
    with pytest.raises(LeaseLost):
        await store.queue.release(old.event_id, old.lease_token)
    with pytest.raises(LeaseLost):
        await store.queue.extend_lease(old.event_id, old.lease_token, 60)
    await store.queue.ack(new.event_id, new.lease_token, attempt=attempt())
    assert await store.ledger.attempts(new.event_id) != []
    assert len(await store.ledger.attempts(new.event_id)) == 1


async def test_extending_a_lease_keeps_the_event(store: Store, clock: ManualClock) -> None:
    await store.queue.ingest([make_event(external_id="1")])
    [held] = await store.queue.claim("w1", 10, 60)
    clock.advance(50)
    expires = await store.queue.extend_lease(held.event_id, held.lease_token, 60)
    assert expires == clock.now + timedelta(seconds=60)
    clock.advance(30)
    assert await store.queue.claim("w2", 10, 60) == []
    clock.advance(30)
    assert [c.event_id for c in await store.queue.claim("w2", 10, 60)] == [held.event_id]
