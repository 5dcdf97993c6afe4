"""The ledger's SQL: tenants, quarantined requests, reading events and attempts, dropping dead letters, pruning,
seen tokens."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Row, delete, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxbridge.events import InboundEvent
from inboxbridge.store.dialect import insert_for, lock_keys, upsert
from inboxbridge.store.models import (
    AttemptRow,
    EventRow,
    EventStatus,
    QuarantineRow,
    SendState,
    TenantRow,
    TenantStatus,
)
from inboxbridge.store.schema import (
    ACTIVE_STATUSES,
    attempts,
    events,
    is_status,
    quarantine,
    seen_tokens,
    tenants,
)

__all__ = [
    "QUARANTINE_KINDS",
    "add_quarantine",
    "attempt_rows",
    "counts",
    "counts_by_tenant",
    "delete_quarantine",
    "drop_dead",
    "forget_token",
    "get_event",
    "get_quarantine",
    "get_tenant",
    "list_events",
    "list_quarantine",
    "list_tenants",
    "oldest_pending_received",
    "oldest_pending_received_by_tenant",
    "prune_delivered",
    "prune_quarantine",
    "prune_seen_tokens",
    "remember_token",
    "upsert_tenant",
]

_EVENT_COLUMNS = [column for column in events.c if column.name != "payload"]


def _event_row(row: Row[tuple[object, ...]]) -> EventRow:
    data = row._mapping
    return EventRow(
        **{column.name: data[column.name] for column in _EVENT_COLUMNS if column.name not in ("status", "send_state")},
        status=EventStatus(data["status"]),
        send_state=SendState(data["send_state"]),
        event=InboundEvent.from_json(data["payload"]),
    )


async def get_event(conn: AsyncConnection, event_id: int) -> EventRow | None:
    """One event with its delivery state."""
    row = (await conn.execute(select(events).where(events.c.id == event_id))).first()
    return None if row is None else _event_row(row)


async def list_events(
    conn: AsyncConnection,
    *,
    tenant: str | None,
    status: str | None,
    source: str | None,
    email: str | None,
    occurred_after: datetime | None,
    occurred_before: datetime | None,
    limit: int,
    offset: int,
) -> list[EventRow]:
    """Events matching every given filter, newest first."""
    query = select(events)
    if tenant is not None:
        query = query.where(events.c.tenant_id == tenant)
    if status is not None:
        query = query.where(events.c.status == EventStatus(status).value)
    if source is not None:
        query = query.where(events.c.source == source)
    if email:
        query = query.where(events.c.customer_key.contains(email.strip().lower(), autoescape=True))
    if occurred_after is not None:
        query = query.where(events.c.occurred_at >= occurred_after)
    if occurred_before is not None:
        query = query.where(events.c.occurred_at < occurred_before)
    query = query.order_by(events.c.id.desc()).limit(limit).offset(offset)
    return [_event_row(row) for row in await conn.execute(query)]


async def attempt_rows(conn: AsyncConnection, event_id: int) -> list[AttemptRow]:
    """An event's delivery tries, oldest first."""
    query = select(attempts).where(attempts.c.event_id == event_id).order_by(attempts.c.id)
    return [AttemptRow(**row._asdict()) for row in await conn.execute(query)]


async def counts(conn: AsyncConnection, tenant: str | None) -> dict[str, int]:
    """How many events are in each status (every status present, zeros included)."""
    query = select(events.c.status, func.count()).group_by(events.c.status)
    if tenant is not None:
        query = query.where(events.c.tenant_id == tenant)
    result = {status.value: 0 for status in EventStatus}
    for status, count in await conn.execute(query):
        result[status] = count
    return result


async def counts_by_tenant(conn: AsyncConnection) -> dict[str, dict[str, int]]:
    """Events per tenant and status, every status present for each tenant with events: one pass over an index,
    where a count per tenant would cost a statement per tenant."""
    query = select(events.c.tenant_id, events.c.status, func.count()).group_by(events.c.tenant_id, events.c.status)
    result: dict[str, dict[str, int]] = {}
    for tenant, status, count in await conn.execute(query):
        result.setdefault(tenant, {s.value: 0 for s in EventStatus})[status] = count
    return result


_FIRST_ACTIVE = (
    select(events.c.tenant_id, func.min(events.c.id).label("id"))
    .where(events.c.status.in_(ACTIVE_STATUSES))
    .group_by(events.c.tenant_id)
    .subquery("first_active")
)
_OLDEST_ACTIVE = select(events.c.tenant_id, events.c.received_at).join(
    _FIRST_ACTIVE, events.c.id == _FIRST_ACTIVE.c.id
)


async def oldest_pending_received_by_tenant(conn: AsyncConnection) -> dict[str, datetime]:
    """When each tenant's first-received undelivered (pending or in-flight) event was received; tenants without
    a backlog are absent. Ids follow arrival, so the first by id is the first received."""
    return {row.tenant_id: row.received_at for row in await conn.execute(_OLDEST_ACTIVE)}


async def oldest_pending_received(conn: AsyncConnection, tenant: str | None) -> datetime | None:
    """When the first-received undelivered (pending or in-flight) event was received.

    Ids follow arrival, so the first by id per status is one index step, where ``min(received_at)`` over the
    backlog would read all of it.
    """
    found: list[datetime] = []
    for status in ACTIVE_STATUSES:
        query = select(events.c.received_at).where(events.c.status == status)
        if tenant is not None:
            query = query.where(events.c.tenant_id == tenant)
        value = (await conn.execute(query.order_by(events.c.id).limit(1))).scalar_one_or_none()
        if value is not None:
            found.append(value)
    return min(found, default=None)


def _tenant_row(row: Row[tuple[object, ...]]) -> TenantRow:
    data = row._mapping
    return TenantRow(
        id=data["id"],
        status=TenantStatus(data["status"]),
        instance_id=data["instance_id"],
        created_at=data["created_at"],
        updated_at=data["updated_at"],
    )


async def get_tenant(conn: AsyncConnection, tenant_id: str) -> TenantRow | None:
    """One tenant."""
    row = (await conn.execute(select(tenants).where(tenants.c.id == tenant_id))).first()
    return None if row is None else _tenant_row(row)


async def list_tenants(conn: AsyncConnection) -> list[TenantRow]:
    """Every tenant, by id."""
    rows: Iterable[Row[tuple[object, ...]]] = await conn.execute(select(tenants).order_by(tenants.c.id))
    return [_tenant_row(row) for row in rows]


async def upsert_tenant(
    conn: AsyncConnection, tenant_id: str, status: TenantStatus, instance_id: str | None, now: datetime
) -> None:
    """Register a tenant, or update its status and Wix app instance id; created_at stays the first registration's."""
    values = {"id": tenant_id, "status": status.value, "instance_id": instance_id, "created_at": now, "updated_at": now}
    await conn.execute(upsert(conn, tenants, values, ["id"], ["status", "instance_id", "updated_at"]))


QUARANTINE_KINDS = ("unreadable", "refused", "skipped")


async def add_quarantine(
    conn: AsyncConnection,
    *,
    tenant: str | None,
    source: str | None,
    kind: str,
    reason: str,
    method: str,
    url: str,
    headers: Mapping[str, Any],
    body: bytes,
    received_at: datetime,
) -> int:
    """Keep one request, or count one more arrival of a body already kept for the same tenant, source and kind;
    returns the row's id."""
    if kind not in QUARANTINE_KINDS:
        raise ValueError(f"unknown quarantine kind {kind!r}: use one of {', '.join(QUARANTINE_KINDS)}")
    digest = hashlib.sha256(body).hexdigest()
    # On PostgreSQL two nodes keeping the same body at once would both insert without this lock; SQLite's write
    # transaction already excludes the other writer.
    await lock_keys(conn, [f"quarantine\x1f{tenant}\x1f{source}\x1f{kind}\x1f{digest}"])
    same = (
        select(quarantine.c.id)
        .where(
            quarantine.c.body_sha256 == digest,
            quarantine.c.tenant_id.is_not_distinct_from(tenant),
            quarantine.c.source.is_not_distinct_from(source),
            quarantine.c.kind == kind,
        )
        .order_by(quarantine.c.id)
        .limit(1)
    )
    existing = (await conn.execute(same)).scalar_one_or_none()
    if existing is not None:
        await conn.execute(
            update(quarantine)
            .where(quarantine.c.id == existing)
            .values(hits=quarantine.c.hits + 1, last_seen_at=received_at)
        )
        return int(existing)
    result = await conn.execute(
        quarantine.insert()
        .values(
            tenant_id=tenant,
            source=source,
            kind=kind,
            reason=reason,
            method=method,
            url=url,
            headers=orjson.dumps(dict(headers)).decode(),
            body=bytes(body),
            body_sha256=digest,
            hits=1,
            received_at=received_at,
            last_seen_at=received_at,
        )
        .returning(quarantine.c.id)
    )
    return int(result.scalar_one())


def _quarantine_row(row: Row[tuple[object, ...]]) -> QuarantineRow:
    data = row._mapping
    return QuarantineRow(
        id=data["id"],
        tenant=data["tenant_id"],
        source=data["source"],
        reason=data["reason"],
        method=data["method"],
        url=data["url"],
        headers=orjson.loads(data["headers"]),
        body=bytes(data["body"]),
        received_at=data["received_at"],
        kind=data["kind"],
        hits=data["hits"],
        last_seen_at=data["last_seen_at"] or data["received_at"],
    )


async def get_quarantine(conn: AsyncConnection, quarantine_id: int) -> QuarantineRow | None:
    """One kept request."""
    row = (await conn.execute(select(quarantine).where(quarantine.c.id == quarantine_id))).first()
    return None if row is None else _quarantine_row(row)


async def list_quarantine(conn: AsyncConnection, tenant: str | None, limit: int, offset: int) -> list[QuarantineRow]:
    """Kept requests, newest first."""
    query = select(quarantine)
    if tenant is not None:
        query = query.where(quarantine.c.tenant_id == tenant)
    query = query.order_by(quarantine.c.id.desc()).limit(limit).offset(offset)
    return [_quarantine_row(row) for row in await conn.execute(query)]


async def delete_quarantine(conn: AsyncConnection, quarantine_id: int) -> bool:
    """Delete a kept request; returns whether it existed."""
    result = await conn.execute(delete(quarantine).where(quarantine.c.id == quarantine_id))
    return result.rowcount > 0


async def drop_dead(conn: AsyncConnection, event_ids: Sequence[int]) -> int:
    """Delete dead events among ``event_ids`` with their attempts; returns how many events."""
    ids = list(set(event_ids))
    if not ids:
        return 0
    dead = select(events.c.id).where(events.c.id.in_(ids), is_status(events, "dead"))
    await conn.execute(delete(attempts).where(attempts.c.event_id.in_(dead)))
    result = await conn.execute(delete(events).where(events.c.id.in_(ids), is_status(events, "dead")))
    return result.rowcount


async def prune_delivered(conn: AsyncConnection, cutoff: datetime, batch_size: int) -> tuple[int, int]:
    """Delete up to ``batch_size`` events delivered before ``cutoff``, with their attempts; returns (events,
    attempts) deleted."""
    # Nodes pruning at once take different batches instead of waiting for each other's rows.
    ids = list(
        (
            await conn.execute(
                select(events.c.id)
                .where(is_status(events, "delivered"), events.c.delivered_at < cutoff)
                .limit(batch_size)
                .with_for_update(skip_locked=True)
            )
        ).scalars()
    )
    if not ids:
        return 0, 0
    gone_attempts = (await conn.execute(delete(attempts).where(attempts.c.event_id.in_(ids)))).rowcount
    gone_events = (await conn.execute(delete(events).where(events.c.id.in_(ids)))).rowcount
    return gone_events, gone_attempts


async def remember_token(conn: AsyncConnection, scope: str, token: str, expires_at: datetime, now: datetime) -> bool:
    """Keep ``token`` of ``scope`` until ``expires_at``; False when it is kept already and not expired at ``now``.

    One statement: of callers presenting the same token at once, exactly one is told True (PostgreSQL makes the
    others wait on the row and then see it; SQLite runs one writer at a time). A row past its expiry that pruning
    has not reached yet is taken over, as if it were gone.
    """
    insert = insert_for(conn, seen_tokens).values(scope=scope, token=token, expires_at=expires_at)
    statement = insert.on_conflict_do_update(
        index_elements=[seen_tokens.c.scope, seen_tokens.c.token],
        set_={"expires_at": insert.excluded.expires_at},
        where=seen_tokens.c.expires_at <= now,
    ).returning(seen_tokens.c.token)
    return (await conn.execute(statement)).first() is not None


async def forget_token(conn: AsyncConnection, scope: str, token: str) -> None:
    """Drop a kept token, so that it is accepted once more."""
    await conn.execute(delete(seen_tokens).where(seen_tokens.c.scope == scope, seen_tokens.c.token == token))


async def prune_seen_tokens(conn: AsyncConnection, now: datetime, batch_size: int) -> int:
    """Delete up to ``batch_size`` tokens expired at ``now``; returns how many went."""
    key = (seen_tokens.c.scope, seen_tokens.c.token)
    expired = select(*key).where(seen_tokens.c.expires_at <= now).limit(batch_size)
    return (await conn.execute(delete(seen_tokens).where(tuple_(*key).in_(expired)))).rowcount


async def prune_quarantine(
    conn: AsyncConnection, older_than: datetime, per_source: int, batch_size: int
) -> int:
    """Delete up to ``batch_size`` kept requests last seen before ``older_than``, or past the newest ``per_source``
    of their tenant and source; returns how many went."""
    last_seen = func.coalesce(quarantine.c.last_seen_at, quarantine.c.received_at)
    rank = (
        func.row_number()
        .over(
            partition_by=(quarantine.c.tenant_id, quarantine.c.source),
            order_by=(last_seen.desc(), quarantine.c.id.desc()),
        )
        .label("rank")
    )
    ranked = select(quarantine.c.id, last_seen.label("seen"), rank).subquery("ranked")
    doomed = (
        select(ranked.c.id)
        .where((ranked.c.seen < older_than) | (ranked.c.rank > per_source))
        .limit(batch_size)
    )
    return (await conn.execute(delete(quarantine).where(quarantine.c.id.in_(doomed)))).rowcount
