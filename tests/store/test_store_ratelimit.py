"""The shared rate-limit bucket: reservations from every store instance draw from one bucket per key."""

from __future__ import annotations

import asyncio

from inboxbridge.store import Store
from inboxbridge.store.ratelimit import SharedRateLimiter


async def test_reservations_share_one_bucket_across_instances(migrated_url: str) -> None:
    first = await Store.open(migrated_url, migrate=False)
    second = await Store.open(migrated_url, migrate=False)
    try:
        assert await first.reserve_rate_tokens("site-a", 3, rate=1.0, burst=5) == 0
        assert await second.reserve_rate_tokens("site-a", 2, rate=1.0, burst=5) == 0
        # The bucket is empty: the next token is due in about a second, later ones queue behind it.
        wait = await first.reserve_rate_tokens("site-a", 1, rate=1.0, burst=5)
        assert 0.5 < wait <= 1.0
        assert 1.5 < await second.reserve_rate_tokens("site-a", 1, rate=1.0, burst=5) <= 2.0
        assert await second.reserve_rate_tokens("site-b", 5, rate=1.0, burst=5) == 0
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
    limiter = SharedRateLimiter(store, rate=1000.0, burst=10, sleep=sleeps)
    calls: list[int] = []
    reserve = store.reserve_rate_tokens

    async def counting(key: str, count: int, rate: float, burst: int) -> float:
        calls.append(count)
        return await reserve(key, count, rate, burst)

    store.reserve_rate_tokens = counting  # type: ignore[method-assign]
    await asyncio.gather(*(limiter.acquire("site") for _ in range(8)))
    assert sum(calls) == 8 and len(calls) < 8, calls
