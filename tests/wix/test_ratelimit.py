"""The per-site token bucket, driven by a hand-moved clock (no real waiting)."""

from __future__ import annotations

import asyncio

import pytest

from inboxbridge.wix import ApiKeyAuth, AppInstanceAuth, RateLimiter, TokenBucketLimiter

from .fakes import FakeTime, FakeWix, make_client, reply


def limiter(time: FakeTime, rate: float = 2.0, burst: int = 3) -> TokenBucketLimiter:
    return TokenBucketLimiter(rate, burst, clock=time.clock, sleep=time.sleep)


async def test_a_burst_goes_out_at_once_then_requests_are_paced(fake_time: FakeTime) -> None:
    bucket = limiter(fake_time)

    for _ in range(5):
        await bucket.acquire("site")

    assert fake_time.sleeps == [0.5, 0.5]


async def test_idle_time_refills_the_bucket_up_to_the_burst_only(fake_time: FakeTime) -> None:
    bucket = limiter(fake_time)
    for _ in range(3):
        await bucket.acquire("site")
    assert bucket.available("site") == 0

    fake_time.now += 1.0
    assert bucket.available("site") == 2.0
    fake_time.now += 3600
    assert bucket.available("site") == 3.0


async def test_concurrent_waiters_are_queued_in_arrival_order(fake_time: FakeTime) -> None:
    fake_time.advance_on_sleep = False
    bucket = limiter(fake_time, rate=1.0, burst=2)

    await asyncio.gather(*(bucket.acquire("site") for _ in range(5)))

    assert fake_time.sleeps == [1.0, 2.0, 3.0]


async def test_sites_have_separate_buckets(fake_time: FakeTime) -> None:
    bucket = limiter(fake_time, burst=1)

    await bucket.acquire("a")
    await bucket.acquire("b")
    assert fake_time.sleeps == []
    await bucket.acquire("a")
    assert fake_time.sleeps == [0.5]


async def test_a_cancelled_waiter_gives_its_place_back() -> None:
    ticks = 0.0
    started = asyncio.Event()
    release = asyncio.Event()

    async def sleep(seconds: float) -> None:
        started.set()
        await release.wait()

    bucket = TokenBucketLimiter(1.0, 1, clock=lambda: ticks, sleep=sleep)
    await bucket.acquire("site")
    waiter = asyncio.create_task(bucket.acquire("site"))
    await started.wait()
    assert bucket.available("site") == -1.0

    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter

    assert bucket.available("site") == 0.0


def test_limiter_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBucketLimiter(0)
    with pytest.raises(ValueError, match="burst"):
        TokenBucketLimiter(1.0, 0)


async def test_every_caller_of_a_site_shares_the_clients_bucket(fake: FakeWix, fake_time: FakeTime) -> None:
    fake.on("GET", "/inbox/v2/conversations/conv-1", reply(200, {"conversation": {"id": "conv-1"}}))
    async with make_client(fake, fake_time, rate_limit_per_second=4.0, rate_limit_burst=2) as wix:
        first = wix.site(ApiKeyAuth(api_key="k1", site_id="site-1"))
        second = wix.site(ApiKeyAuth(api_key="k2", site_id="site-1"))
        other_site = wix.site(ApiKeyAuth(api_key="k3", site_id="site-2"))

        await first.get_conversation("conv-1")
        await second.get_conversation("conv-1")
        await other_site.get_conversation("conv-1")
        await second.get_conversation("conv-1")

    assert fake_time.sleeps == [0.25]
    assert len(fake.requests) == 4


class RecordingLimiter:
    """A stand-in for a limiter shared between processes."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    async def acquire(self, key: str) -> None:
        self.keys.append(key)


async def test_any_limiter_with_acquire_can_be_plugged_in(fake: FakeWix, fake_time: FakeTime) -> None:
    fake.on("GET", "/inbox/v2/conversations/conv-1", reply(503, b""), reply(200, {"conversation": {"id": "c"}}))
    fake.on("POST", "/oauth2/token", reply(200, {"access_token": "t", "expires_in": 3600}))
    shared = RecordingLimiter()
    as_protocol: RateLimiter = shared
    async with make_client(fake, fake_time, limiter=as_protocol) as wix:
        await wix.site(ApiKeyAuth(api_key="k", site_id="site-1")).get_conversation("conv-1")
        await wix.site(AppInstanceAuth("app", "secret", "inst-1")).get_conversation("conv-1")

    # Every attempt is paced (the retry too); the token request is not a site call.
    assert shared.keys == ["site-1", "site-1", "inst-1"]
