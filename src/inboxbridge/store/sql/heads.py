"""Keeping ``queue_heads`` in step with ``events``.

Every transaction that adds events or changes an undelivered event's status, retry time or lease rebuilds,
before it commits, the head rows of the ordering keys it touched. A key's row names its head (the oldest
pending or in-flight event by ``(occurred_at, id)``) and ``ready_at``: the head's next try if it is pending,
its lease end if it is in flight, or, later than either, the end of a lease another event of the key still
holds (a late event with an older timestamp must wait for the one in flight). ``ready_at`` does not depend on
the current time, so a claim only has to compare it with now.

Such a transaction holds the locks of those keys (:func:`~inboxbridge.store.dialect.lock_keys`) from before its
first read of their events until it commits: two nodes on PostgreSQL never rebuild a key's row from different
views of its events.

The rebuild is set-based (a delete and an insert from a select), so a batch costs the same two statements as
one event, and each key is one index step into ``ix_events_active_key`` and ``ix_events_in_flight_key``. The
statements are built once, with the keys (or event ids) as an expanding bound parameter: building the aliases
and subqueries anew on every call cost more than running them.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import ColumnElement, Delete, Insert, Select, bindparam, case, delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxbridge.store.schema import events, is_active, is_status, queue_heads

__all__ = ["CHUNK", "chunks", "refresh_for_events", "refresh_keys"]

# Keys per statement: far below SQLite's limit of 32766 bound parameters and PostgreSQL's 65535.
CHUNK = 500


def chunks(items: Sequence[str]) -> list[Sequence[str]]:
    """``items`` in slices of at most :data:`CHUNK`."""
    return [items[start : start + CHUNK] for start in range(0, len(items), CHUNK)]


def _rebuild(key_query: Select[tuple[str]], stale: ColumnElement[bool]) -> tuple[Delete, Insert]:
    """The two statements that replace the head rows of the keys ``key_query`` selects."""
    keys = key_query.subquery("keys")
    candidate = events.alias("candidate")
    head_id = (
        select(candidate.c.id)
        .where(candidate.c.ordering_key == keys.c.ordering_key, is_active(candidate))
        .order_by(candidate.c.occurred_at, candidate.c.id)
        .limit(1)
        .scalar_subquery()
    )
    leased = events.alias("leased")
    lease_end = (
        select(func.max(leased.c.lease_expires_at))
        .where(is_status(leased, "in_flight"), leased.c.ordering_key == keys.c.ordering_key)
        .scalar_subquery()
    )
    head = events.alias("head")
    head_ready = case((head.c.status == "pending", head.c.next_attempt_at), else_=head.c.lease_expires_at)
    # A NULL lease_end (nothing in flight) compares as unknown, so the head's own time is taken.
    ready_at = case((lease_end > head_ready, lease_end), else_=head_ready)
    rows = select(keys.c.ordering_key, head.c.tenant_id, head.c.id, ready_at).select_from(
        keys.join(head, head.c.id == head_id)
    )
    return (
        delete(queue_heads).where(stale),
        queue_heads.insert().from_select(["ordering_key", "tenant_id", "event_id", "ready_at"], rows),
    )


_keys_of_events = (
    select(events.c.ordering_key).where(events.c.id.in_(bindparam("event_ids", expanding=True))).distinct()
)
_BY_EVENTS = _rebuild(_keys_of_events, queue_heads.c.ordering_key.in_(_keys_of_events))
_BY_KEYS = _rebuild(
    select(events.c.ordering_key)
    .where(events.c.ordering_key.in_(bindparam("keys", expanding=True)), is_active(events))
    .distinct(),
    queue_heads.c.ordering_key.in_(bindparam("keys", expanding=True)),
)


async def refresh_for_events(conn: AsyncConnection, event_ids: Collection[int]) -> None:
    """Rebuild the head rows of the ordering keys of ``event_ids`` (whatever those events' status now)."""
    ids = sorted(set(event_ids))
    for start in range(0, len(ids), CHUNK):
        parameters = {"event_ids": ids[start : start + CHUNK]}
        for statement in _BY_EVENTS:
            await conn.execute(statement, parameters)


async def refresh_keys(conn: AsyncConnection, keys: Collection[str]) -> None:
    """Rebuild the head rows of ``keys``."""
    for chunk in chunks(sorted(set(keys))):
        for statement in _BY_KEYS:
            await conn.execute(statement, {"keys": list(chunk)})
