"""The retry schedule: exponential backoff with jitter, Retry-After as a floor, about a day before giving up."""

from __future__ import annotations

import random

from inboxbridge.config import RetrySettings
from inboxbridge.worker import RetrySchedule


def test_delays_double_up_to_the_cap_with_half_of_each_random() -> None:
    schedule = RetrySchedule(base=5, max_delay=3600, give_up_after=86400)
    rng = random.Random(1)
    for tries, nominal in [(1, 5), (2, 10), (3, 20), (10, 2560), (11, 3600), (20, 3600)]:
        delay = schedule.delay(tries, None, rng)
        assert delay is not None
        assert nominal / 2 <= delay <= nominal


def test_retry_after_is_a_floor() -> None:
    schedule = RetrySchedule(base=5, max_delay=3600, give_up_after=86400)
    assert schedule.delay(1, 120.0, random.Random(1)) == 120.0


def test_default_schedule_gives_up_after_about_a_day() -> None:
    schedule = RetrySchedule.from_settings(RetrySettings())
    rng = random.Random(1)
    tries = 1
    while schedule.delay(tries, None, rng) is not None:
        tries += 1
    waited_hours = schedule.elapsed(tries - 1) / 3600
    assert 24 <= waited_hours <= 25
    assert 25 <= tries <= 40
