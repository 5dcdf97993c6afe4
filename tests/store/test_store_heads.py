"""The claim's shortcut table stays equal to what the rules say, through random sequences of operations."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from conftest import ManualClock, attempt, make_event
from sqlalchemy import text

from inboxbridge.store import ClaimedEvent, LeaseLost, SendState, Store
from inboxbridge.store.timestamps import to_micros


async def _rows(store: Store, sql: str) -> list[Any]:
    async with store.engine.connect() as conn:
        return list((await conn.execute(text(sql))).all())


async def _expected_heads(store: Store) -> dict[str, tuple[int, int]]:
    """ordering key -> (head event id, ready_at), straight from the rules."""
    active = await _rows(
        store,
        "SELECT id, ordering_key, status, occurred_at, next_attempt_at, lease_expires_at FROM events "
        "WHERE status IN ('pending', 'in_flight')",
    )
    heads: dict[str, tuple[int, int]] = {}
    for key in {row.ordering_key for row in active}:
        rows = [row for row in active if row.ordering_key == key]
        head = min(rows, key=lambda row: (row.occurred_at, row.id))
        ready = head.next_attempt_at if head.status == "pending" else head.lease_expires_at
        leases = [row.lease_expires_at for row in rows if row.status == "in_flight"]
        heads[key] = (head.id, max([ready, *leases]))
    return heads


async def _claimable(store: Store, now_us: int) -> set[int]:
    """Events the rules allow to be claimed now, computed without the shortcut table."""
    rows = await _rows(
        store,
        "SELECT e.id, e.ordering_key, e.status, e.occurred_at, e.next_attempt_at, e.lease_expires_at, "
        "t.status AS tenant_status FROM events e JOIN tenants t ON t.id = e.tenant_id "
        "WHERE e.status IN ('pending', 'in_flight')",
    )
    allowed = set()
    for row in rows:
        same_key = [other for other in rows if other.ordering_key == row.ordering_key and other.id != row.id]
        due = (row.status == "pending" and row.next_attempt_at <= now_us) or (
            row.status == "in_flight" and row.lease_expires_at <= now_us
        )
        is_head = all((row.occurred_at, row.id) < (other.occurred_at, other.id) for other in same_key)
        others_leased = any(other.status == "in_flight" and other.lease_expires_at > now_us for other in same_key)
        if due and is_head and not others_leased and row.tenant_status == "active":
            allowed.add(row.id)
    return allowed


async def test_random_operations_keep_heads_and_claims_true_to_the_rules(store: Store, clock: ManualClock) -> None:
    rng = random.Random(20260301)
    held: list[ClaimedEvent] = []
    next_id = 0
    total_claimed = 0
    for step in range(200):
        action = rng.choices(
            ["ingest", "claim", "finish", "advance", "replay", "park"],
            weights=[30, 20, 30, 12, 3, 5],
        )[0]
        if action == "ingest":
            batch = []
            for _ in range(rng.randint(1, 3)):
                next_id += 1
                batch.append(
                    make_event(
                        f"c{rng.randint(0, 4)}@example.com",
                        tenant=rng.choice(["acme", "beta"]),
                        external_id=str(next_id),
                        minute=rng.randint(0, 30),
                    )
                )
            await store.queue.ingest(batch)
        elif action == "claim":
            expected = await _claimable(store, to_micros(clock.now))
            claimed = await store.queue.claim(f"w{step}", 1000, rng.choice([10, 30, 90]))
            assert {c.event_id for c in claimed} == expected, f"step {step}"
            held.extend(claimed)
            total_claimed += len(claimed)
        elif action == "finish" and held:
            item = held.pop(rng.randrange(len(held)))
            how = rng.choice(["ack", "retry", "dead", "release", "extend"])
            try:
                if how == "ack":
                    await store.queue.ack(item.event_id, item.lease_token, attempt=attempt())
                elif how == "retry":
                    await store.queue.retry(
                        item.event_id,
                        item.lease_token,
                        attempt=attempt("retry"),
                        next_attempt_at=clock.now + timedelta(seconds=rng.randint(0, 60)),
                        error="503",
                        send_state=rng.choice(list(SendState)),
                    )
                elif how == "dead":
                    await store.queue.dead_letter(item.event_id, item.lease_token, attempt=attempt("dead"), reason="x")
                elif how == "release":
                    await store.queue.release(item.event_id, item.lease_token)
                else:
                    await store.queue.extend_lease(item.event_id, item.lease_token, rng.randint(5, 60))
                    held.append(item)
            except LeaseLost:
                pass
        elif action == "advance":
            clock.advance(rng.randint(1, 45))
        elif action == "replay":
            await store.queue.replay_dead(tenant=rng.choice([None, "acme"]))
        elif action == "park":
            tenant = rng.choice(["acme", "beta"])
            await (store.queue.stop_tenant(tenant) if rng.random() < 0.5 else store.queue.start_tenant(tenant))

        stored = {
            row.ordering_key: (row.event_id, row.ready_at)
            for row in await _rows(store, "SELECT ordering_key, event_id, ready_at FROM queue_heads")
        }
        assert stored == await _expected_heads(store), f"step {step}: {action}"
    assert total_claimed > 40, "the sequence should exercise claims"
