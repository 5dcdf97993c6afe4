"""Replaying and dropping dead letters by id or by filter: what the admin API, the dashboard and the CLI share."""

from __future__ import annotations

from collections.abc import Sequence

from inboxbridge.store import DeliveryQueue, EventStatus, Ledger

__all__ = ["drop", "replay"]

PAGE = 500


def _check(ids: Sequence[int], every: bool, verb: str) -> None:
    if not ids and not every:
        raise ValueError(f"give event ids, or all to {verb} every dead letter (of a tenant, of a source)")


async def replay(
    queue: DeliveryQueue, ids: Sequence[int], *, every: bool, tenant: str | None, source: str | None
) -> int:
    """Dead events back to the queue: those of ``ids``, or with ``every`` all of them (of a tenant/source);
    returns how many. Raises ValueError when neither is given."""
    _check(ids, every, "replay")
    if ids:
        return await queue.replay(list(ids))
    return await queue.replay_dead(tenant or None, source or None)


async def drop(ledger: Ledger, ids: Sequence[int], *, every: bool, tenant: str | None, source: str | None) -> int:
    """Delete dead events: those of ``ids``, or with ``every`` all of them (of a tenant/source); returns how
    many. Raises ValueError when neither is given."""
    _check(ids, every, "drop")
    if ids:
        return await ledger.drop_dead(list(ids))
    dropped = 0
    while True:
        page = await ledger.list_events(
            tenant=tenant or None, source=source or None, status=EventStatus.DEAD, limit=PAGE
        )
        gone = await ledger.drop_dead([row.id for row in page]) if page else 0
        dropped += gone
        # Fewer dropped than listed: the rest were replayed meanwhile; stop rather than loop on them.
        if len(page) < PAGE or gone < len(page):
            return dropped
