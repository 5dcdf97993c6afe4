"""Where providers read the current time (signature timestamps), so tests can set it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["Clock", "now"]

Clock = Callable[[], datetime]
"""A function giving the current, timezone-aware time; injectable for tests."""


def now() -> datetime:
    """The wall clock, timezone-aware."""
    return datetime.now(UTC)
