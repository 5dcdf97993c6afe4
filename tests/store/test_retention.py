"""Retention: old deliveries pruned in batches, dead letters and the backlog kept, ingest never locked out."""

from __future__ import annotations

import asyncio

from conftest import ManualClock, attempt, make_event

from inboxbridge.config import RetentionSettings
from inboxbridge.retention import Retention
from inboxbridge.store import Store


async def _deliver(store: Store, count: int, prefix: str) -> None:
    await store.queue.ingest([make_event(f"{prefix}{n}@example.com", external_id=f"{prefix}{n}") for n in range(count)])
    for item in await store.queue.claim("w", count, 60):
        await store.queue.ack(item.event_id, item.lease_token, attempt=attempt())


async def test_old_deliveries_go_dead_letters_and_backlog_stay(store: Store, clock: ManualClock) -> None:
    await _deliver(store, 6, "old")
    await store.queue.ingest([make_event("dead@example.com", external_id="dead")])
    [dead] = await store.queue.claim("w", 1, 60)
    await store.queue.dead_letter(dead.event_id, dead.lease_token, attempt=attempt("dead"), reason="Wix 400")
    clock.advance(31 * 86400)
    await _deliver(store, 2, "recent")
    await store.queue.ingest([make_event("waiting@example.com", external_id="waiting")])

    retention = Retention(store.ledger, RetentionSettings(delivered_days=30, prune_interval_seconds=3600, batch_size=4))
    stop = asyncio.Event()
    task = asyncio.create_task(retention.run(stop))
    while retention.runs == 0:
        await asyncio.sleep(0.01)
    stop.set()
    await task

    assert await store.ledger.counts() == {"pending": 1, "in_flight": 0, "delivered": 2, "dead": 1, "parked": 0}
    assert [row.outcome for row in await store.ledger.attempts(dead.event_id)] == ["dead"]
    assert await retention.prune_once() == {
        "events": 0,
        "attempts": 0,
        "contact_cache": 0,
        "conversation_cache": 0,
        "seen_tokens": 0,
        "quarantine": 0,
    }


async def test_ingest_gets_in_between_prune_batches(store: Store, clock: ManualClock) -> None:
    await _deliver(store, 40, "old")
    clock.advance(31 * 86400)
    retention = Retention(store.ledger, RetentionSettings(delivered_days=30, batch_size=2))
    pruning = asyncio.create_task(retention.prune_once())
    await asyncio.sleep(0)
    [result] = await store.queue.ingest([make_event("new@example.com", external_id="new")])
    assert not pruning.done(), "ingest waited for the whole prune"
    assert (await pruning)["events"] == 40
    assert (await store.ledger.get_event(result.event_id)) is not None
