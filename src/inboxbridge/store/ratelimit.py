"""Wix rate limits shared by every node on one database: a token bucket per site in ``rate_buckets``.

A reservation is one atomic statement (:mod:`inboxbridge.store.sql.rates`), served in the order reservations reach
the database, so the requests of all nodes together never exceed the bucket (``burst`` at once, ``rate`` a second
on average).

:class:`SharedRateLimiter` puts a local front on it: the requests of one process waiting for the same site are
reserved together, one round trip for all of them, and no token is reserved ahead of a request that needs it
(an unused token would be capacity lost for every node).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from inboxbridge.store.database import Database
from inboxbridge.store.sql import rates

__all__ = ["SharedRateLimiter"]

# How long tokens left over by waiters that gave up stay good: used much later they would add to a burst.
_HOLD_SECONDS = 0.5


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
        database: Database,
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
        self._database = database
        self._clock = clock
        self._sleep = sleep
        self._lanes: dict[str, _Lane] = {}

    def __repr__(self) -> str:
        return f"SharedRateLimiter(rate={self.rate!r}, burst={self.burst!r}, database={self._database.backend!r})"

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
                    wait = await self.reserve(key, count)
                    if wait > 0:
                        await self._sleep(wait)
                    lane.tokens = count
                    lane.granted_at = self._clock()
                lane.tokens -= 1
        finally:
            lane.waiting -= 1

    async def reserve(self, key: str, count: int) -> float:
        """Take ``count`` tokens from the shared bucket of ``key`` at once; returns the seconds to wait before they
        may be used. Every process on this database draws from the same bucket."""
        async with self._database.transaction("reserving rate-limit tokens", write=True) as conn:
            return await rates.reserve(conn, key, count, self.rate, self.burst)
