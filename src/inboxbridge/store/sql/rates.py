"""The shared rate limiter's SQL: one atomic upsert per reservation on a site's token bucket in ``rate_buckets``.

The upsert refills the bucket for the time since its last reservation (by the database server's clock, so nodes'
clocks do not matter), takes the tokens, and returns the new level. A level below zero is a queue: the reservation
is due once the bucket has refilled back to zero, so reservations from every node are served in the order they
reached the database, and the requests of all nodes together never exceed the bucket.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, literal, type_coerce
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxbridge.store.dialect import greatest, insert_for, least, server_now_micros
from inboxbridge.store.schema import rate_buckets

__all__ = ["reserve"]

_MICROS = 1_000_000


async def reserve(conn: AsyncConnection, key: str, count: int, rate: float, burst: int) -> float:
    """Take ``count`` tokens from ``key``'s bucket; returns the seconds until they are due (0: now)."""
    now = server_now_micros(conn)
    refilled_at = type_coerce(rate_buckets.c.refilled_at, BigInteger)
    elapsed = greatest(conn, now - refilled_at, literal(0, BigInteger))
    level = least(conn, rate_buckets.c.tokens + elapsed * (rate / _MICROS), literal(float(burst)))
    stmt = insert_for(conn, rate_buckets).values(key=key, tokens=float(burst - count), refilled_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[rate_buckets.c.key],
        set_={"tokens": level - count, "refilled_at": greatest(conn, refilled_at, now)},
    ).returning(rate_buckets.c.tokens)
    tokens = float((await conn.execute(stmt)).scalar_one())
    return max(0.0, -tokens / rate)
