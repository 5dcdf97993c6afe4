"""Operator actions on stored events: replaying and dropping dead letters, parking a tenant's backlog."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxbridge.store import heads
from inboxbridge.store.dialect import lock_keys, lock_keys_of_events
from inboxbridge.store.schema import attempts, events, is_status

__all__ = ["drop_dead", "park_tenant", "replay", "replay_dead", "unpark_tenant"]

# Back to the start of the retry schedule; the attempts table keeps the history.
_REPLAYED = {
    "status": "pending",
    "attempts": 0,
    "lease_owner": None,
    "lease_token": None,
    "lease_expires_at": None,
}


async def replay(conn: AsyncConnection, event_ids: Sequence[int], now: datetime) -> int:
    """Dead events among ``event_ids`` back to pending, due now; returns how many."""
    ids = list(set(event_ids))
    if not ids:
        return 0
    await lock_keys_of_events(conn, ids)
    result = await conn.execute(
        update(events).where(events.c.id.in_(ids), is_status(events, "dead")).values(next_attempt_at=now, **_REPLAYED)
    )
    await heads.refresh_for_events(conn, ids)
    return result.rowcount


async def replay_dead(conn: AsyncConnection, tenant_id: str | None, source: str | None, now: datetime) -> int:
    """Every dead event (of a tenant, of a source) back to pending, due now; returns how many."""
    conditions = [is_status(events, "dead")]
    if tenant_id is not None:
        conditions.append(events.c.tenant_id == tenant_id)
    if source is not None:
        conditions.append(events.c.source == source)
    return await _move_keys(conn, conditions, {"next_attempt_at": now, **_REPLAYED})


async def _move_keys(conn: AsyncConnection, conditions: list[ColumnElement[bool]], values: dict[str, object]) -> int:
    """Update the events matching ``conditions`` key by key, holding the locks of their keys.

    The keys are found first and locked, and only their events change: an event of a new key stored meanwhile
    is left as it came (it was not there when the operator asked).
    """
    keys = sorted(set((await conn.execute(select(events.c.ordering_key).where(*conditions).distinct())).scalars()))
    await lock_keys(conn, keys)
    moved = 0
    for chunk in heads.chunks(keys):
        result = await conn.execute(update(events).where(*conditions, events.c.ordering_key.in_(chunk)).values(values))
        moved += result.rowcount
    await heads.refresh_keys(conn, keys)
    return moved


async def drop_dead(conn: AsyncConnection, event_ids: Sequence[int]) -> int:
    """Delete dead events among ``event_ids`` with their attempts; returns how many events."""
    ids = list(set(event_ids))
    if not ids:
        return 0
    dead = select(events.c.id).where(events.c.id.in_(ids), is_status(events, "dead"))
    await conn.execute(delete(attempts).where(attempts.c.event_id.in_(dead)))
    result = await conn.execute(delete(events).where(events.c.id.in_(ids), is_status(events, "dead")))
    return result.rowcount


async def _move(conn: AsyncConnection, tenant_id: str, from_status: str, to_status: str) -> int:
    conditions = [events.c.tenant_id == tenant_id, events.c.status == from_status]
    return await _move_keys(conn, conditions, {"status": to_status})


async def park_tenant(conn: AsyncConnection, tenant_id: str) -> int:
    """Set a tenant's pending events aside (its Wix app was removed); returns how many."""
    return await _move(conn, tenant_id, "pending", "parked")


async def unpark_tenant(conn: AsyncConnection, tenant_id: str) -> int:
    """Put a tenant's parked events back in the queue; returns how many."""
    return await _move(conn, tenant_id, "parked", "pending")
