"""Per-site rate limiting and seedable fault injection."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

__all__ = ["FaultDecision", "FaultInjector", "FaultSettings", "RateLimiter", "SlowThenSucceed"]

_CAMEL = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class RateLimiter:
    """A token bucket per site: ``per_minute`` requests of burst, refilled at ``per_minute / 60`` a second.

    A client spacing its calls exactly ``60 / per_minute`` seconds apart gets a token back before each
    call, so it never sees a 429; one that bursts past the bucket does.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._default = per_minute
        self._overrides: dict[str, int] = {}
        self._buckets: dict[str, tuple[float, float]] = {}
        self._clock = clock
        self._lock = threading.Lock()

    def limit(self, site_id: str) -> int:
        """The requests-per-minute limit of a site."""
        return self._overrides.get(site_id, self._default)

    def configure(self, per_minute: int, site_id: str | None = None) -> None:
        """Change the limit of one site, or of every site (dropping per-site overrides)."""
        with self._lock:
            if site_id is None:
                self._default = per_minute
                self._overrides.clear()
                self._buckets.clear()
            else:
                self._overrides[site_id] = per_minute
                self._buckets.pop(site_id, None)

    def reset(self, per_minute: int) -> None:
        """Back to one limit for all sites, every bucket full."""
        self.configure(per_minute)

    def allow(self, site_id: str) -> bool:
        """Take one token from the site's bucket; False when it is empty (answer 429)."""
        capacity = float(self.limit(site_id))
        rate = capacity / 60.0
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.get(site_id, (capacity, now))
            tokens = min(capacity, tokens + (now - last) * rate)
            # the tolerance absorbs float error, so a call exactly one interval later finds a whole token
            if tokens < 1.0 - 1e-9:
                self._buckets[site_id] = (tokens, now)
                return False
            self._buckets[site_id] = (tokens - 1.0, now)
            return True


class SlowThenSucceed(BaseModel):
    """Do the work, then wait ``delay_ms`` before answering, with the given probability."""

    model_config = _CAMEL

    probability: float = Field(default=0.0, ge=0.0, le=1.0)
    delay_ms: int = Field(default=3000, ge=0)


class FaultSettings(BaseModel):
    """The body of ``PUT /_sandbox/faults``."""

    model_config = _CAMEL

    error_rates: dict[int, float] = Field(default_factory=dict)
    latency_ms: int = Field(default=0, ge=0)
    latency_jitter_ms: int = Field(default=0, ge=0)
    slow_then_succeed: SlowThenSucceed = Field(default_factory=SlowThenSucceed)
    path_prefix: str | None = None
    seed: int | None = None
    retry_after: float | None = Field(default=None, ge=0)
    merged_send: Literal["CONVERSATION_NOT_FOUND", "NOT_FOUND", "ACCEPTED"] = "CONVERSATION_NOT_FOUND"
    """What a Send Message into a merged-away conversation gets: 404 ``CONVERSATION_NOT_FOUND``; a 404 with no
    application error code (Send Message documents none for it); or success, the message stored in the
    conversation it was merged into. Not drawn at random: it holds for every such send while set."""

    @field_validator("error_rates")
    @classmethod
    def _rates(cls, value: dict[int, float]) -> dict[int, float]:
        for status, rate in value.items():
            if status != 429 and not 500 <= status <= 599:
                raise ValueError(f"error status {status} must be 429 or 5xx")
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"error rate for {status} must be between 0 and 1")
        return value

    @model_validator(mode="after")
    def _total(self) -> FaultSettings:
        if sum(self.error_rates.values()) > 1.0:
            raise ValueError("error rates add up to more than 1")
        return self


@dataclass(frozen=True)
class FaultDecision:
    """What to do to one request: fail with a status, wait before working, wait after working."""

    status: int | None = None
    delay_before: float = 0.0
    delay_after: float = 0.0
    retry_after: float | None = None


class FaultInjector:
    """Draws fault decisions from a seedable random source, so a seeded test sees the same faults each run."""

    def __init__(self) -> None:
        self._settings: FaultSettings | None = None
        self._random = random.Random()
        self._lock = threading.Lock()

    @property
    def settings(self) -> FaultSettings | None:
        """The faults in force, or None."""
        return self._settings

    def configure(self, settings: FaultSettings) -> None:
        """Turn faults on (replacing earlier settings); a seed restarts the random sequence."""
        with self._lock:
            self._settings = settings
            self._random = random.Random(settings.seed)

    def clear(self) -> None:
        """Turn faults off."""
        with self._lock:
            self._settings = None

    def decide(self, path: str) -> FaultDecision:
        """The faults for one request to ``path``; always three draws, so decisions stay reproducible."""
        with self._lock:
            settings = self._settings
            if settings is None or (settings.path_prefix and not path.startswith(settings.path_prefix)):
                return FaultDecision()
            error_draw, jitter_draw, slow_draw = (self._random.random() for _ in range(3))
        status = None
        cumulative = 0.0
        for code in sorted(settings.error_rates):
            cumulative += settings.error_rates[code]
            if error_draw < cumulative:
                status = code
                break
        before = (settings.latency_ms + jitter_draw * settings.latency_jitter_ms) / 1000.0
        slow = settings.slow_then_succeed
        after = slow.delay_ms / 1000.0 if status is None and slow_draw < slow.probability else 0.0
        return FaultDecision(status, before, after, settings.retry_after)
