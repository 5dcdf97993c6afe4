"""The shared rate-limit bucket: reservations from every store instance draw from one bucket per key."""

from __future__ import annotations

import asyncio

from inboxbridge.store import Store
from inboxbridge.store.ratelimit import SharedRateLimiter


async def test_reservations_share_one_bucket_across_instances(migrated_url: str) -> None:
    first = await Store.open(migrated_url, migrate=False)
    second = await Store.open(migrated_url, migrate=False)
    one, two = first.rate_limiter(1.0, 5), second.rate_limiter(1.0, 5)
    try:
        assert await one.reserve("site-a", 3) == 0
        assert await two.reserve("site-a", 2) == 0
        # The bucket is empty: the next token is due in about a second, later ones queue behind it.
        wait = await one.reserve("site-a", 1)
        assert 0.5 < wait <= 1.0
        assert 1.5 < await two.reserve("site-a", 1) <= 2.0
        assert await two.reserve("site-b", 5) == 0
    finally:
        await first.close()
        await second.close()


class _Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def test_waiters_of_one_process_are_reserved_together(store: Store) -> None:
    sleeps = _Sleeps()
    limiter = SharedRateLimiter(store.database, rate=1000.0, burst=10, sleep=sleeps)
    calls: list[int] = []
    reserve = limiter.reserve

    async def counting(key: str, count: int) -> float:
        calls.append(count)
        return await reserve(key, count)

    limiter.reserve = counting  # type: ignore[method-assign]
    await asyncio.gather(*(limiter.acquire("site") for _ in range(8)))
    assert sum(calls) == 8 and len(calls) < 8, calls
