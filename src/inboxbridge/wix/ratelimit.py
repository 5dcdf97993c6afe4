"""Rate limiting of Wix calls per site.

:class:`RateLimiter` is the interface the client uses: ``await limiter.acquire(key)`` returns when one request
for ``key`` (a site id or app instance id) may go out. :class:`TokenBucketLimiter` is the in-process
implementation; a limiter shared by several processes (e.g. backed by PostgreSQL) only has to provide the same
coroutine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

__all__ = ["RateLimiter", "TokenBucketLimiter"]


class RateLimiter(Protocol):
    """Anything that can pace requests per key."""

    async def acquire(self, key: str) -> None:
        """Wait until one request for ``key`` may be sent. Waits as long as needed; never fails."""
        ...


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBucketLimiter:
    """A token bucket per key: ``rate`` requests a second on average, up to ``burst`` at once.

    Callers reserve a token on arrival, so waiters go out in arrival order and a caller never waits longer
    than the queue ahead of it needs. ``clock`` and ``sleep`` can be replaced (tests drive time by hand).
    """

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.rate = float(rate)
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[str, _Bucket] = {}

    def __repr__(self) -> str:
        return f"TokenBucketLimiter(rate={self.rate!r}, burst={self.burst!r})"

    def _refill(self, key: str) -> _Bucket:
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(tokens=float(self.burst), updated=now)
        else:
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        return bucket

    def available(self, key: str) -> float:
        """Tokens in ``key``'s bucket now; negative while callers are queued for it."""
        return self._refill(key).tokens

    async def acquire(self, key: str) -> None:
        """Take one token for ``key``, waiting for it when the bucket is empty."""
        bucket = self._refill(key)
        bucket.tokens -= 1.0
        if bucket.tokens >= 0:
            return
        try:
            await self._sleep(-bucket.tokens / self.rate)
        except asyncio.CancelledError:
            # A cancelled waiter gives its reservation back so that those behind it are not slowed for it.
            self._refill(key).tokens += 1.0
            raise
