"""The delivery queue's SQL on the events table: ingest (parking a stopped tenant's events), claim, what a lease
holder may do with an event, replay, and parking a tenant's backlog."""

from __future__ import annotations

import dataclasses
import functools
import secrets
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Update, bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxbridge.events import InboundEvent
from inboxbridge.store.dialect import insert_ignoring_conflicts, lock_keys, lock_keys_of_events, try_lock_keys
from inboxbridge.store.errors import LeaseLost
from inboxbridge.store.models import AttemptRecord, ClaimedEvent, IngestResult, SendState, TenantStatus
from inboxbridge.store.schema import attempts, events, is_status, queue_heads, tenants
from inboxbridge.store.sql import heads

__all__ = [
    "Finish",
    "claim",
    "finish_leased",
    "ingest_batches",
    "park_tenant",
    "replay",
    "replay_dead",
    "set_tenant_status",
    "unpark_tenant",
    "update_leased",
]

_DEDUPE_KEY = ("tenant_id", "source", "idempotency_key")
_DedupeKey = tuple[str, str, str]

# Built once: constructing statements per call cost more than running them. The insert runs as an executemany,
# which SQLAlchemy sends as multi-row INSERTs (its "insertmanyvalues"), RETURNING the rows actually inserted.
_INSERTS = insert_ignoring_conflicts(
    events, list(_DEDUPE_KEY), returning=[events.c.id, *(events.c[column] for column in _DEDUPE_KEY)]
)
# Shared row locks on PostgreSQL: a tenant being stopped (its status row updated, then its backlog parked, in one
# transaction) waits for the ingests reading its status to commit, and they wait for it, so no event of a stopped
# tenant is ever stored pending. Ingests do not block each other.
_TENANT_STATUSES = (
    select(tenants.c.id, tenants.c.status)
    .where(tenants.c.id.in_(bindparam("tenant_ids", expanding=True)))
    .order_by(tenants.c.id)
    .with_for_update(read=True)
)
# Equalities then IN on the last column: index lookups (a row-value IN would scan the index).
_EXISTING = select(events.c.id, events.c.idempotency_key).where(
    events.c.tenant_id == bindparam("tenant_id"),
    events.c.source == bindparam("source"),
    events.c.idempotency_key.in_(bindparam("idempotency_keys", expanding=True)),
)


async def ingest_batches(
    conn: AsyncConnection, batches: Sequence[Sequence[InboundEvent]], now: datetime
) -> list[list[IngestResult] | ValueError]:
    """Store several callers' batches in one go, in order, as if each had been ingested after the previous.

    The events of a stopped tenant are stored parked, in the same transaction. A batch naming an unregistered
    tenant gets a ValueError instead of results and nothing of it is stored; the others are unaffected. An event
    repeating one stored earlier, or one earlier in any batch of the call, is a duplicate with that event's id.
    """
    names = sorted({event.tenant for batch in batches for event in batch})
    statuses = {row.id: row.status for row in await conn.execute(_TENANT_STATUSES, {"tenant_ids": names})}
    outcomes: list[list[IngestResult] | ValueError | None] = []
    rows: list[dict[str, Any]] = []
    for batch in batches:
        if missing := {event.tenant for event in batch} - statuses.keys():
            outcomes.append(
                ValueError(
                    f"unknown tenant(s): {', '.join(sorted(missing))}; tenants must be registered before their events"
                )
            )
            continue
        outcomes.append(None)
        rows.extend(_event_values(event, now, parked=statuses[event.tenant] == "stopped") for event in batch)
    if not rows:
        return [[] if outcome is None else outcome for outcome in outcomes]
    await lock_keys(conn, {row["ordering_key"] for row in rows})
    result = await conn.execute(_INSERTS[conn.dialect.name], rows)
    inserted: dict[_DedupeKey, int] = {(row[1], row[2], row[3]): row[0] for row in result}
    existing = await _existing_ids(conn, [_dedupe_key(row) for row in rows if _dedupe_key(row) not in inserted])
    seen: set[_DedupeKey] = set()
    queued: list[int] = []
    position = iter(rows)
    done: list[list[IngestResult] | ValueError] = []
    for batch, outcome in zip(batches, outcomes, strict=True):
        if outcome is not None:
            done.append(outcome)
            continue
        results: list[IngestResult] = []
        for _ in batch:
            row = next(position)
            key = _dedupe_key(row)
            if key in inserted and key not in seen:
                parked = row["status"] == "parked"
                results.append(IngestResult(event_id=inserted[key], duplicate=False, parked=parked))
                if not parked:
                    queued.append(inserted[key])
            else:
                results.append(IngestResult(event_id=inserted.get(key) or existing[key], duplicate=True))
            seen.add(key)
        done.append(results)
    await heads.refresh_for_events(conn, queued)
    return done


def _dedupe_key(row: Mapping[str, Any]) -> _DedupeKey:
    return (row["tenant_id"], row["source"], row["idempotency_key"])


async def _existing_ids(conn: AsyncConnection, keys: Sequence[_DedupeKey]) -> dict[_DedupeKey, int]:
    """The ids of events stored before under ``keys``."""
    repeated: dict[tuple[str, str], set[str]] = defaultdict(set)
    for tenant_id, source, idempotency_key in keys:
        repeated[tenant_id, source].add(idempotency_key)
    existing: dict[_DedupeKey, int] = {}
    for (tenant_id, source), idempotency_keys in repeated.items():
        parameters = {"tenant_id": tenant_id, "source": source, "idempotency_keys": sorted(idempotency_keys)}
        existing.update({(tenant_id, source, row[1]): row[0] for row in await conn.execute(_EXISTING, parameters)})
    return existing


def _event_values(event: InboundEvent, now: datetime, *, parked: bool) -> dict[str, Any]:
    return {
        "tenant_id": event.tenant,
        "source": event.source,
        "idempotency_key": event.idempotency_key(),
        "ordering_key": event.ordering_key,
        "customer_key": event.customer_key,
        "kind": event.kind.value,
        "occurred_at": event.occurred_at,
        "received_at": now,
        "payload": event.to_json().decode(),
        "status": "parked" if parked else "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "send_state": SendState.NONE.value,
    }


# The claim's statements, built once like the ingest's.
_oldest_ready = (
    select(func.min(queue_heads.c.ready_at)).where(queue_heads.c.tenant_id == tenants.c.id).scalar_subquery()
)
_BUSY_TENANTS = (
    select(tenants.c.id)
    .where(tenants.c.status == "active", _oldest_ready <= bindparam("now", type_=queue_heads.c.ready_at.type))
    .order_by(_oldest_ready, tenants.c.id)
    .limit(bindparam("limit"))
)
# On PostgreSQL the rows are locked, skipping those another transaction holds, so nodes claiming at once are
# handed different keys.
_READY_HEADS = (
    select(queue_heads.c.event_id, queue_heads.c.ordering_key)
    .where(
        queue_heads.c.tenant_id == bindparam("tenant_id"),
        queue_heads.c.ready_at <= bindparam("now", type_=queue_heads.c.ready_at.type),
    )
    .order_by(queue_heads.c.ready_at, queue_heads.c.event_id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_CLAIMED_ROWS = select(
    events.c.id,
    events.c.payload,
    events.c.attempts,
    events.c.send_state,
    events.c.conversation_id,
    events.c.sending_started_at,
    events.c.status,
    events.c.lease_expires_at,
).where(events.c.id.in_(bindparam("ids", expanding=True)))
# A claimed event may be sent at any moment, so the claim itself records that an outcome may become unknown: a
# worker that dies mid-send leaves an event its successor reconciles before sending again. An earlier unsure
# try keeps its start, which bounds how far back the reconciliation looks.
_LEASE = (
    update(events)
    .where(events.c.id == bindparam("event_id"))
    .values(
        status="in_flight",
        lease_owner=bindparam("worker_id"),
        lease_token=bindparam("token"),
        lease_expires_at=bindparam("expires", type_=events.c.lease_expires_at.type),
        send_state=SendState.UNKNOWN.value,
        sending_started_at=case(
            (events.c.send_state == SendState.UNKNOWN.value, events.c.sending_started_at),
            else_=bindparam("now", type_=events.c.sending_started_at.type),
        ),
    )
)
_HEADS_LEASED = (
    update(queue_heads)
    .where(queue_heads.c.ordering_key.in_(bindparam("keys", expanding=True)))
    .values(ready_at=bindparam("expires", type_=queue_heads.c.ready_at.type))
)


def _round_robin(per_tenant: Sequence[Sequence[tuple[int, str]]], limit: int) -> list[tuple[int, str]]:
    """Each tenant's oldest head in turn, then each one's second...: no backlog crowds out a fresh tenant."""
    chosen: list[tuple[int, str]] = []
    depth = 0
    while len(chosen) < limit and any(depth < len(rows) for rows in per_tenant):
        chosen.extend(rows[depth] for rows in per_tenant if depth < len(rows))
        depth += 1
    return chosen[:limit]


async def claim(
    conn: AsyncConnection, *, worker_id: str, limit: int, lease_seconds: float, now: datetime
) -> list[ClaimedEvent]:
    """Lease up to ``limit`` claimable heads (at most one per ordering key) to ``worker_id``.

    Each :class:`ClaimedEvent` carries the send state its earlier tries left; in the store the event is marked
    as possibly being sent from now on (see :meth:`~inboxbridge.store.DeliveryQueue.release` to hand one back untried).
    """
    if limit <= 0:
        return []
    busy = list((await conn.execute(_BUSY_TENANTS, {"now": now, "limit": limit})).scalars())
    per_tenant = [
        [
            (row.event_id, row.ordering_key)
            for row in await conn.execute(_READY_HEADS, {"tenant_id": tenant_id, "now": now, "limit": limit})
        ]
        for tenant_id in busy
    ]
    chosen = _round_robin(per_tenant, limit)
    # A writer holding a key's lock may be changing its events without having reached the head row yet; such
    # keys are skipped. A row locked and a key lock held mean the row is the key's committed truth.
    locked = await try_lock_keys(conn, [key for _, key in chosen])
    chosen = [(event_id, key) for event_id, key in chosen if key in locked]
    if not chosen:
        return []
    expires = now + timedelta(seconds=lease_seconds)
    tokens = {event_id: secrets.token_hex(16) for event_id, _ in chosen}
    rows = {row.id: row for row in await conn.execute(_CLAIMED_ROWS, {"ids": list(tokens)})}
    await conn.execute(
        _LEASE,
        [
            {"event_id": event_id, "token": token, "worker_id": worker_id, "expires": expires, "now": now}
            for event_id, token in tokens.items()
        ],
    )
    await conn.execute(_HEADS_LEASED, {"keys": [key for _, key in chosen], "expires": expires})
    return [
        ClaimedEvent(
            event_id=event_id,
            lease_token=tokens[event_id],
            event=InboundEvent.from_json(rows[event_id].payload),
            attempts=rows[event_id].attempts,
            send_state=SendState(rows[event_id].send_state),
            conversation_id=rows[event_id].conversation_id,
            sending_started_at=rows[event_id].sending_started_at,
            lease_expires_at=expires,
            lost_lease_expired_at=rows[event_id].lease_expires_at if rows[event_id].status == "in_flight" else None,
        )
        for event_id, _ in chosen
    ]


async def update_leased(conn: AsyncConnection, event_id: int, lease_token: str, values: Mapping[str, Any]) -> None:
    """Update an event only if ``lease_token`` still holds its lease, else raise :class:`LeaseLost`."""
    result = await conn.execute(
        update(events)
        .where(events.c.id == event_id, is_status(events, "in_flight"), events.c.lease_token == lease_token)
        .values(dict(values))
        .returning(events.c.id)
    )
    if result.scalar_one_or_none() is None:
        raise LeaseLost.of_event(event_id)


@dataclasses.dataclass(frozen=True, slots=True)
class Finish:
    """A lease holder's last word on one try of an event: the event's new values and the try to record."""

    event_id: int
    lease_token: str
    values: Mapping[str, Any]
    attempt: AttemptRecord


# ``dataclasses.asdict`` deep-copies every value; an attempt's fields are plain values.
_ATTEMPT_FIELDS = tuple(field.name for field in dataclasses.fields(AttemptRecord))
_LEASE_HOLDERS = select(events.c.id, events.c.lease_token).where(
    events.c.id.in_(bindparam("ids", expanding=True)), is_status(events, "in_flight")
)


@functools.lru_cache(maxsize=16)
def _finish_statement(columns: tuple[str, ...]) -> Update:
    """The UPDATE that finishes a try writing ``columns`` (the try counted), built once per set of columns."""
    values: dict[str, Any] = {name: bindparam(f"new_{name}", type_=events.c[name].type) for name in columns}
    return update(events).where(events.c.id == bindparam("event_id")).values(attempts=events.c.attempts + 1, **values)


async def finish_leased(conn: AsyncConnection, finishes: Sequence[Finish]) -> list[LeaseLost | None]:
    """Finish tries of many events at once: each one's values written and its try recorded, if its lease still
    holds; one whose lease is gone gets :class:`LeaseLost` and nothing of it is written.

    Every finish ends its lease, so a second finish of the same lease in ``finishes`` is refused too. The head
    rows of the finished events' keys are rebuilt.
    """
    holders: dict[int, str] = {
        row.id: row.lease_token
        for row in await conn.execute(_LEASE_HOLDERS, {"ids": sorted({f.event_id for f in finishes})})
    }
    outcomes: list[LeaseLost | None] = []
    updates: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    tries: list[dict[str, Any]] = []
    for finish in finishes:
        if holders.pop(finish.event_id, None) != finish.lease_token:
            outcomes.append(LeaseLost.of_event(finish.event_id))
            continue
        columns = tuple(sorted(finish.values))
        updates[columns].append(
            {"event_id": finish.event_id, **{f"new_{name}": finish.values[name] for name in columns}}
        )
        tries.append({"event_id": finish.event_id, **{name: getattr(finish.attempt, name) for name in _ATTEMPT_FIELDS}})
        outcomes.append(None)
    for columns, parameters in updates.items():
        await conn.execute(_finish_statement(columns), parameters)
    if tries:
        await conn.execute(attempts.insert(), tries)
        await heads.refresh_for_events(conn, [row["event_id"] for row in tries])
    return outcomes


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


async def _move(conn: AsyncConnection, tenant_id: str, from_status: str, to_status: str) -> int:
    conditions = [events.c.tenant_id == tenant_id, events.c.status == from_status]
    return await _move_keys(conn, conditions, {"status": to_status})


async def set_tenant_status(conn: AsyncConnection, tenant_id: str, status: TenantStatus, now: datetime) -> None:
    """Start or stop a tenant's deliveries; raises ValueError for an unknown tenant. Taken before its backlog is
    moved: the row lock makes ingests of the tenant that began earlier commit first (see ``_TENANT_STATUSES``)."""
    result = await conn.execute(
        update(tenants).where(tenants.c.id == tenant_id).values(status=status.value, updated_at=now)
    )
    if result.rowcount == 0:
        raise ValueError(f"unknown tenant {tenant_id!r}")


async def park_tenant(conn: AsyncConnection, tenant_id: str) -> int:
    """Set a tenant's pending events aside (its Wix app was removed); returns how many."""
    return await _move(conn, tenant_id, "pending", "parked")


async def unpark_tenant(conn: AsyncConnection, tenant_id: str) -> int:
    """Put a tenant's parked events back in the queue; returns how many."""
    return await _move(conn, tenant_id, "parked", "pending")
