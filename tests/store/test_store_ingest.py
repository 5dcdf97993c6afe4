"""Ingest: one transaction per batch, each event stored once, failures reported as unavailable."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import START, ManualClock, make_event

from inboxbridge.events import EventKind, InboundEvent
from inboxbridge.store import EventStatus, IngestResult, SendState, Store, StoreUnavailable


async def test_new_events_get_ids_and_are_pending(store: Store, clock: ManualClock) -> None:
    events = [make_event(external_id="a"), make_event("bob@example.com", external_id="b")]
    results = await store.queue.ingest(events)
    assert [r.duplicate for r in results] == [False, False]
    assert results[0].event_id != results[1].event_id
    row = await store.ledger.get_event(results[1].event_id)
    assert row is not None
    assert row.event == events[1]
    assert row.status is EventStatus.PENDING
    assert row.send_state is SendState.NONE
    assert row.attempts == 0
    assert row.received_at == clock.now
    assert row.next_attempt_at == clock.now
    assert row.ordering_key == "acme/email:bob@example.com"
    assert row.customer_key == "email:bob@example.com"
    assert row.idempotency_key == "id:b"
    assert (await store.ledger.counts())["pending"] == 2


async def test_the_same_batch_twice_is_stored_once(store: Store) -> None:
    batch = [make_event(external_id=str(i), minute=i) for i in range(5)]
    first = await store.queue.ingest(batch)
    second = await store.queue.ingest(batch)
    assert second == [IngestResult(event_id=r.event_id, duplicate=True) for r in first]
    assert (await store.ledger.counts())["pending"] == 5


async def test_a_repeat_inside_one_batch_returns_the_first_id(store: Store) -> None:
    results = await store.queue.ingest(
        [make_event(external_id="x"), make_event(external_id="y"), make_event(external_id="x", text="again")]
    )
    assert [r.duplicate for r in results] == [False, False, True]
    assert results[2].event_id == results[0].event_id
    row = await store.ledger.get_event(results[0].event_id)
    assert row is not None and row.event.text == "hello"
    assert (await store.ledger.counts())["pending"] == 2


async def test_events_without_provider_id_are_recognised_by_content(store: Store) -> None:
    [first] = await store.queue.ingest([make_event()])
    [same] = await store.queue.ingest([make_event()])
    [other_text] = await store.queue.ingest([make_event(text="different")])
    [other_source] = await store.queue.ingest([make_event(source="sms")])
    [other_tenant] = await store.queue.ingest([make_event(tenant="beta")])
    assert same == IngestResult(first.event_id, duplicate=True)
    assert not other_text.duplicate and not other_source.duplicate and not other_tenant.duplicate


async def test_unknown_tenant_is_refused_and_nothing_of_the_batch_is_stored(store: Store) -> None:
    batch = [make_event(external_id="ok"), make_event(tenant="ghost", external_id="no")]
    with pytest.raises(ValueError, match="ghost"):
        await store.queue.ingest(batch)
    assert sum((await store.ledger.counts()).values()) == 0


async def test_empty_batch(store: Store) -> None:
    assert await store.queue.ingest([]) == []


async def test_timestamps_are_kept_to_the_microsecond(store: Store) -> None:
    occurred = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    event = InboundEvent(
        tenant="acme",
        source="chat",
        kind=EventKind.ACTIVITY,
        occurred_at=occurred,
        phone="+15551234567",
        text="Order shipped",
    )
    [result] = await store.queue.ingest([event])
    row = await store.ledger.get_event(result.event_id)
    assert row is not None
    assert row.occurred_at == occurred
    assert row.occurred_at.tzinfo is not None
    assert row.customer_key == "phone:+15551234567"


async def test_a_naive_clock_is_refused(db_url: str) -> None:
    store = await Store.open(db_url, clock=lambda: datetime(2026, 1, 1))
    try:
        with pytest.raises(ValueError, match="timezone-aware"):
            await store.ledger.upsert_tenant("acme")
    finally:
        await store.close()


async def test_write_lock_held_too_long_is_unavailable(sqlite_url: str, tmp_path: Path, clock: ManualClock) -> None:
    store = await Store.open(sqlite_url, clock=clock, busy_timeout=0.2)
    try:
        await store.ledger.upsert_tenant("acme")
        blocker = sqlite3.connect(tmp_path / "inboxbridge.db", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreUnavailable, match="locked"):
                await store.queue.ingest([make_event(external_id="1")])
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert sum((await store.ledger.counts()).values()) == 0
        [result] = await store.queue.ingest([make_event(external_id="1")])
        assert not result.duplicate
    finally:
        await store.close()


async def test_read_only_database_is_unavailable_for_ingest(sqlite_url: str, clock: ManualClock) -> None:
    # Tests run as root, for whom file permissions do not stop writes; SQLite's read-only open mode does, with
    # the same error SQLite reports for a read-only file or file system.
    writer = await Store.open(sqlite_url, clock=clock)
    await writer.ledger.upsert_tenant("acme")
    await writer.queue.ingest([make_event(external_id="1")])
    await writer.close()
    reader = await Store.open(sqlite_url + "?mode=ro", clock=clock)
    try:
        with pytest.raises(StoreUnavailable, match="readonly"):
            await reader.queue.ingest([make_event(external_id="2", minute=1)])
        assert await reader.ledger.counts() == {"pending": 1, "in_flight": 0, "delivered": 0, "dead": 0, "parked": 0}
        assert (await reader.ledger.list_events())[0].occurred_at == START
    finally:
        await reader.close()
