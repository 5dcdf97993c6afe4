"""Reading the ledger: events, attempts, counts, backlog age, tenants."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxbridge.events import InboundEvent
from inboxbridge.store.models import AttemptRow, EventRow, EventStatus, SendState, TenantRow, TenantStatus
from inboxbridge.store.schema import ACTIVE_STATUSES, attempts, events, tenants

__all__ = [
    "attempt_rows",
    "counts",
    "get_event",
    "get_tenant",
    "list_events",
    "list_tenants",
    "oldest_pending_received",
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
