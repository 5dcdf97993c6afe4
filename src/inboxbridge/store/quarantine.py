"""Requests that could not be turned into events, kept as received so an operator can see what came in."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Row, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxbridge.store.models import QuarantineRow
from inboxbridge.store.schema import quarantine

__all__ = ["add", "get", "list_rows", "remove"]


async def add(
    conn: AsyncConnection,
    *,
    tenant: str | None,
    source: str | None,
    reason: str,
    method: str,
    url: str,
    headers: Mapping[str, Any],
    body: bytes,
    received_at: datetime,
) -> int:
    """Keep one request; returns its id."""
    result = await conn.execute(
        quarantine.insert()
        .values(
            tenant_id=tenant,
            source=source,
            reason=reason,
            method=method,
            url=url,
            headers=orjson.dumps(dict(headers)).decode(),
            body=bytes(body),
            received_at=received_at,
        )
        .returning(quarantine.c.id)
    )
    return int(result.scalar_one())


def _row(row: Row[tuple[object, ...]]) -> QuarantineRow:
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
    )


async def get(conn: AsyncConnection, quarantine_id: int) -> QuarantineRow | None:
    """One kept request."""
    row = (await conn.execute(select(quarantine).where(quarantine.c.id == quarantine_id))).first()
    return None if row is None else _row(row)


async def list_rows(conn: AsyncConnection, tenant: str | None, limit: int, offset: int) -> list[QuarantineRow]:
    """Kept requests, newest first."""
    query = select(quarantine)
    if tenant is not None:
        query = query.where(quarantine.c.tenant_id == tenant)
    query = query.order_by(quarantine.c.id.desc()).limit(limit).offset(offset)
    return [_row(row) for row in await conn.execute(query)]


async def remove(conn: AsyncConnection, quarantine_id: int) -> bool:
    """Delete a kept request; returns whether it existed."""
    result = await conn.execute(delete(quarantine).where(quarantine.c.id == quarantine_id))
    return result.rowcount > 0
