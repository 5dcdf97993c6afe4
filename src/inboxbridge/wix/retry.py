"""The client's short, in-process retry schedule.

Long retries (minutes, hours) belong to the caller's durable queue; these only ride out brief throttling and
hiccups. 429 is retried on every call, since Wix did not act on the request. 5xx, timeouts and connection
errors are retried only on calls that are safe to repeat, or when the error says the request certainly did not
reach Wix (``outcome_unknown`` False): Send Message has no idempotency key, so a blind repeat could post
twice.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from inboxbridge.wix.errors import WixRetryableError

__all__ = ["RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait before trying a failed call again.

    ``attempts`` counts the first try. Between tries the client waits Wix's Retry-After when it sent one
    (if more than ``max_retry_after``, the error is raised at once so the caller can schedule a later try),
    otherwise ``backoff_initial * 2**n`` capped at ``backoff_max``, with "full jitter" (a random point between
    half of it and all of it) so that many clients do not retry in lock-step.
    """

    attempts: int = 3
    backoff_initial: float = 0.2
    backoff_max: float = 5.0
    max_retry_after: float = 30.0
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.backoff_initial < 0 or self.backoff_max < 0 or self.max_retry_after < 0:
            raise ValueError("delays must not be negative")

    @classmethod
    def never(cls) -> RetryPolicy:
        """One try only: every error goes straight to the caller."""
        return cls(attempts=1)

    def backoff(self, retry_number: int) -> float:
        """The jittered wait before retry number ``retry_number`` (1 for the first retry)."""
        ceiling = min(self.backoff_max, self.backoff_initial * 2 ** (retry_number - 1))
        return self.rng.uniform(ceiling / 2, ceiling)

    def delay_before_retry(
        self, error: WixRetryableError, attempt: int, *, safe_to_repeat: bool
    ) -> float | None:
        """Seconds to wait before a new try after ``error`` ended try ``attempt``; None: do not retry."""
        if attempt >= self.attempts:
            return None
        if error.outcome_unknown and not safe_to_repeat:
            return None
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= self.max_retry_after else None
        return self.backoff(attempt)
