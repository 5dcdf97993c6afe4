"""Retention: delivered events and their attempts are deleted once older than ``retention.delivered_days``, and
expired cache rows and seen tokens (kept to refuse replayed Wix app events) once their time is up.

One small task per delivering process prunes every ``prune_interval_seconds``, in batches of ``batch_size``
short transactions, so ingest is never held up for longer than one batch. Dead letters, undelivered and parked
events are kept until an operator replays or drops them. On PostgreSQL nodes pruning at once take different
batches (``FOR UPDATE SKIP LOCKED``).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import structlog

from inboxbridge.config import RetentionSettings
from inboxbridge.store import Ledger, StoreUnavailable

__all__ = ["Retention"]

log = structlog.get_logger("inboxbridge.retention")


class Retention:
    """Prunes the ledger on a schedule until stopped."""

    def __init__(self, ledger: Ledger, settings: RetentionSettings) -> None:
        self.ledger = ledger
        self.settings = settings
        self.runs = 0

    async def prune_once(self) -> dict[str, int]:
        """One pass: every delivered event older than the retention age, with its attempts, expired caches and
        expired seen tokens, kept requests past their age or their source's bound; returns how many rows of each
        went."""
        removed = await self.ledger.prune(
            timedelta(days=self.settings.delivered_days), batch_size=self.settings.batch_size
        )
        removed["seen_tokens"] = await self.ledger.prune_seen_tokens(batch_size=self.settings.batch_size)
        removed["quarantine"] = await self.ledger.prune_quarantine(
            timedelta(days=self.settings.quarantine_days),
            self.settings.quarantine_per_source,
            batch_size=self.settings.batch_size,
        )
        self.runs += 1
        if any(removed.values()):
            log.info("pruned", **removed)
        return removed

    async def run(self, stop: asyncio.Event) -> None:
        """Prune now and then every interval until ``stop`` is set; a failed pass is logged and tried next time."""
        while not stop.is_set():
            try:
                await self.prune_once()
            except StoreUnavailable as exc:
                log.warning("pruning failed; trying again at the next interval", error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.settings.prune_interval_seconds)
