"""Wix rate limits shared by every node on one database: a token bucket per site in ``rate_buckets``.

A reservation is one atomic upsert: refill the bucket for the time since its last reservation (by the database
server's clock, so nodes' clocks do not matter), take the tokens, and return the new level. A level below zero
is a queue: the reservation is due once the bucket has refilled back to zero, so reservations from every node
are served in the order they reached the database, and the requests of all nodes together never exceed the
bucket (``burst`` at once, ``rate`` a second on average).

:class:`SharedRateLimiter` puts a local front on it: the requests of one process waiting for the same site are
reserved together, one round trip for all of them, and no token is reserved ahead of a request that needs it
(an unused token would be capacity lost for every node).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, literal, type_coerce
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxbridge.store.dialect import greatest, insert_for, least, server_now_micros
from inboxbridge.store.schema import rate_buckets

if TYPE_CHECKING:
    from inboxbridge.store.store import Store

__all__ = ["SharedRateLimiter", "reserve"]

_MICROS = 1_000_000
# How long tokens left over by waiters that gave up stay good: used much later they would add to a burst.
_HOLD_SECONDS = 0.5


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


@dataclass
class _Lane:
    """One site's waiters in this process."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: int = 0
    tokens: int = 0
    granted_at: float = 0.0


class SharedRateLimiter:
    """The Wix client's :class:`~inboxbridge.wix.RateLimiter`, shared by every node on the store's database.

    ``rate`` requests a second per key on average and ``burst`` at once, for all nodes together. At most
    ``max_batch`` requests are reserved in one round trip. Should the database be unreachable, ``acquire``
    raises :class:`~inboxbridge.store.StoreUnavailable` and the delivery is retried like any other failure.
    """

    def __init__(
        self,
        store: Store,
        rate: float,
        burst: int = 1,
        *,
        max_batch: int = 32,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if burst < 1 or max_batch < 1:
            raise ValueError("burst and max_batch must be at least 1")
        self.rate = float(rate)
        self.burst = burst
        # A batch larger than the bucket would wait for more than a full bucket at once.
        self.max_batch = min(max_batch, burst)
        self._store = store
        self._clock = clock
        self._sleep = sleep
        self._lanes: dict[str, _Lane] = {}

    def __repr__(self) -> str:
        return f"SharedRateLimiter(rate={self.rate!r}, burst={self.burst!r}, store={self._store.backend!r})"

    async def acquire(self, key: str) -> None:
        """Wait until one request for ``key`` may be sent, by every node's count."""
        lane = self._lanes.setdefault(key, _Lane())
        lane.waiting += 1
        try:
            async with lane.lock:
                if lane.tokens and self._clock() - lane.granted_at > _HOLD_SECONDS:
                    lane.tokens = 0
                if lane.tokens == 0:
                    count = min(lane.waiting, self.max_batch)
                    wait = await self._store.reserve_rate_tokens(key, count, self.rate, self.burst)
                    if wait > 0:
                        await self._sleep(wait)
                    lane.tokens = count
                    lane.granted_at = self._clock()
                lane.tokens -= 1
        finally:
            lane.waiting -= 1
