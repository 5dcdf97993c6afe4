"""Several store instances (separate connection pools, as separate nodes have) working one database at once.

Ingests (late, older events included), claims and every way of finishing a lease race each other for a few keys.
Whenever a claim hands out an event, no other event of its key may still be held: a holder gives its turn back
only after its finishing call returns, so any overlap seen here is a real one.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter

from conftest import make_event
from sqlalchemy import text

from inboxbridge.store import AttemptRecord, ClaimedEvent, LeaseLost, SendState, Store

NODES = 3
WORKERS_PER_NODE = 4
CUSTOMERS = 8
EVENTS = 120


class Ledger:
    """What the test saw: keys held right now, overlaps, and deliveries per event."""

    def __init__(self) -> None:
        self.held: set[str] = set()
        self.overlaps: list[str] = []
        self.delivered: Counter[int] = Counter()


async def _ingest(store: Store, name: str, rng: random.Random) -> None:
    for start in range(0, EVENTS // 2, 4):
        batch = [
            make_event(
                f"c{rng.randrange(CUSTOMERS)}@example.com",
                tenant=rng.choice(["acme", "beta"]),
                external_id=f"{name}-{n}",
                minute=rng.randrange(600),
            )
            for n in range(start, start + 4)
        ]
        await store.queue.ingest(batch)
        await asyncio.sleep(rng.random() / 200)


async def _finish(store: Store, item: ClaimedEvent, rng: random.Random, ledger: Ledger) -> None:
    now = store.now()
    record = AttemptRecord(started_at=now, finished_at=now, outcome="x")
    how = rng.choices(["ack", "retry", "release", "extend"], weights=[6, 2, 1, 1])[0]
    ledger.held.discard(item.event.ordering_key)
    if how == "ack":
        await store.queue.ack(item.event_id, item.lease_token, attempt=record)
        ledger.delivered[item.event_id] += 1
    elif how == "retry":
        await store.queue.retry(
            item.event_id, item.lease_token, attempt=record, next_attempt_at=now, error="503", send_state=SendState.NONE
        )
    elif how == "release":
        await store.queue.release(item.event_id, item.lease_token)
    else:
        ledger.held.add(item.event.ordering_key)
        await store.queue.extend_lease(item.event_id, item.lease_token, 30)
        await _finish(store, item, rng, ledger)


async def _work(store: Store, name: str, rng: random.Random, ledger: Ledger, done: asyncio.Event) -> None:
    while not done.is_set():
        claimed = await store.queue.claim(name, rng.randint(1, 3), 30)
        for item in claimed:
            key = item.event.ordering_key
            if key in ledger.held:
                ledger.overlaps.append(f"{key}: event {item.event_id} claimed by {name} while another was held")
            ledger.held.add(key)
        await asyncio.sleep(rng.random() / 500)
        for item in claimed:
            try:
                await _finish(store, item, rng, ledger)
            except LeaseLost:
                ledger.overlaps.append(f"{item.event_id}: lease lost within its 30 s")
        if not claimed:
            await asyncio.sleep(0.002)


async def test_nodes_racing_on_few_keys_never_hold_one_key_twice(migrated_url: str) -> None:
    nodes = [await Store.open(migrated_url, migrate=False) for _ in range(NODES)]
    try:
        await nodes[0].ledger.upsert_tenant("acme")
        await nodes[0].ledger.upsert_tenant("beta")
        rng = random.Random(5)
        ledger = Ledger()
        done = asyncio.Event()
        workers = [
            asyncio.create_task(_work(node, f"n{n}w{w}", random.Random(rng.random()), ledger, done))
            for n, node in enumerate(nodes)
            for w in range(WORKERS_PER_NODE)
        ]
        await asyncio.gather(*(_ingest(node, f"i{n}", random.Random(rng.random())) for n, node in enumerate(nodes[:2])))

        async def all_delivered() -> None:
            while (await nodes[0].ledger.counts())["delivered"] < EVENTS:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(all_delivered(), timeout=60)
        done.set()
        await asyncio.gather(*workers)

        assert ledger.overlaps == []
        assert len(ledger.delivered) == EVENTS and set(ledger.delivered.values()) == {1}
        async with nodes[0].engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM queue_heads"))).scalar() == 0
    finally:
        for node in nodes:
            await node.close()
