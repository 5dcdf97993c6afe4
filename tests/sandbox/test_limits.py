"""The rate limiter's window, on a fake clock: a client at exactly the allowed rate never trips it."""

from __future__ import annotations

from inboxbridge.sandbox.limits import FaultInjector, FaultSettings, RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_client_at_exactly_the_allowed_rate_is_never_throttled() -> None:
    clock = FakeClock()
    limiter = RateLimiter(200, clock)
    for _ in range(2000):
        assert limiter.allow("site")
        clock.now += 60 / 200


def test_a_burst_past_the_limit_is_throttled_then_recovers() -> None:
    clock = FakeClock()
    limiter = RateLimiter(200, clock)
    assert all(limiter.allow("site") for _ in range(200))
    assert not limiter.allow("site")
    assert limiter.allow("other site")
    clock.now += 60 / 200
    assert limiter.allow("site")
    assert not limiter.allow("site")


def test_per_site_override_and_reset() -> None:
    clock = FakeClock()
    limiter = RateLimiter(200, clock)
    limiter.configure(1, "slow")
    assert limiter.allow("slow")
    assert not limiter.allow("slow")
    limiter.reset(200)
    assert limiter.limit("slow") == 200
    assert limiter.allow("slow")


def test_fault_decisions_repeat_with_the_seed() -> None:
    settings = FaultSettings.model_validate(
        {"errorRates": {"500": 0.5}, "slowThenSucceed": {"probability": 0.5, "delayMs": 100}, "seed": 3}
    )
    injector = FaultInjector()
    injector.configure(settings)
    first = [injector.decide("/inbox/v2/messages") for _ in range(50)]
    injector.configure(settings)
    assert [injector.decide("/inbox/v2/messages") for _ in range(50)] == first
    assert any(d.status == 500 for d in first)
    assert any(d.delay_after == 0.1 for d in first)
    assert all(d.delay_after == 0.0 for d in first if d.status is not None)
