"""The ledger: what an operator sees and does beside the queue — tenants, quarantined requests, events and their
tries, dropping dead letters, pruning old deliveries — and the tokens already seen, so a signed request is acted on
once."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from inboxbridge.store.database import Database
from inboxbridge.store.models import AttemptRow, EventRow, EventStatus, QuarantineRow, TenantRow, TenantStatus
from inboxbridge.store.sql import ids, ledger

__all__ = ["Ledger"]


class Ledger:
    """The operator's side of the store; every call is one short transaction."""

    def __init__(self, database: Database) -> None:
        self._db = database

    # Tenants

    async def upsert_tenant(
        self, tenant: str, *, status: TenantStatus | str = TenantStatus.ACTIVE, instance_id: str | None = None
    ) -> None:
        """Register a tenant, or update its status and Wix app instance id (to stop or start one with its backlog,
        see :meth:`~inboxbridge.store.DeliveryQueue.stop_tenant`)."""
        async with self._db.transaction("saving a tenant", write=True) as conn:
            await ledger.upsert_tenant(conn, tenant, TenantStatus(status), instance_id, self._db.now())

    async def get_tenant(self, tenant: str) -> TenantRow | None:
        """One tenant, or None."""
        async with self._db.transaction("reading a tenant", write=False) as conn:
            return await ledger.get_tenant(conn, tenant)

    async def list_tenants(self) -> list[TenantRow]:
        """Every tenant."""
        async with self._db.transaction("listing tenants", write=False) as conn:
            return await ledger.list_tenants(conn)

    # Quarantine

    async def quarantine(
        self,
        *,
        tenant: str | None,
        source: str | None,
        reason: str,
        method: str,
        url: str,
        headers: Mapping[str, Any],
        body: bytes,
        kind: str = "unreadable",
    ) -> int:
        """Keep a request, with why; returns its id. ``kind`` says what became of it: ``unreadable`` (answered
        400), ``refused`` (401) or ``skipped`` (valid, nothing to post). One row per distinct body of a tenant,
        source and kind: the same body again counts one more hit (and its last-seen time) on the row first kept,
        whose id is returned."""
        async with self._db.transaction("quarantining a request", write=True) as conn:
            return await ledger.add_quarantine(
                conn,
                tenant=tenant,
                source=source,
                kind=kind,
                reason=reason,
                method=method,
                url=url,
                headers=headers,
                body=body,
                received_at=self._db.now(),
            )

    async def list_quarantine(
        self, tenant: str | None = None, *, limit: int = 50, offset: int = 0
    ) -> list[QuarantineRow]:
        """Quarantined requests, newest first."""
        async with self._db.transaction("listing quarantine", write=False) as conn:
            return await ledger.list_quarantine(conn, tenant, limit, offset)

    async def get_quarantine(self, quarantine_id: int) -> QuarantineRow | None:
        """One quarantined request, or None."""
        async with self._db.transaction("reading quarantine", write=False) as conn:
            return await ledger.get_quarantine(conn, quarantine_id)

    async def delete_quarantine(self, quarantine_id: int) -> bool:
        """Delete a quarantined request; returns whether it existed."""
        async with self._db.transaction("deleting from quarantine", write=True) as conn:
            return await ledger.delete_quarantine(conn, quarantine_id)

    # Events

    async def counts(self, tenant: str | None = None) -> dict[str, int]:
        """Events per status, every status present."""
        async with self._db.transaction("counting events", write=False) as conn:
            return await ledger.counts(conn, tenant)

    async def oldest_pending_age(self, tenant: str | None = None) -> float | None:
        """Seconds since the oldest undelivered (pending or in-flight) event was received; None when none."""
        async with self._db.transaction("reading the backlog age", write=False) as conn:
            oldest = await ledger.oldest_pending_received(conn, tenant)
        return None if oldest is None else max(0.0, (self._db.now() - oldest).total_seconds())

    async def counts_by_tenant(self) -> dict[str, dict[str, int]]:
        """Events per status of every tenant that has events, in one read."""
        async with self._db.transaction("counting events by tenant", write=False) as conn:
            return await ledger.counts_by_tenant(conn)

    async def oldest_pending_ages(self) -> dict[str, float]:
        """Per tenant with a backlog, seconds since its oldest undelivered event was received, in one read."""
        async with self._db.transaction("reading the backlog ages", write=False) as conn:
            oldest = await ledger.oldest_pending_received_by_tenant(conn)
        now = self._db.now()
        return {tenant: max(0.0, (now - received).total_seconds()) for tenant, received in oldest.items()}

    async def get_event(self, event_id: int) -> EventRow | None:
        """One event with every column and the decoded event, or None."""
        async with self._db.transaction("reading an event", write=False) as conn:
            return await ledger.get_event(conn, event_id)

    async def list_events(
        self,
        *,
        tenant: str | None = None,
        status: EventStatus | str | None = None,
        source: str | None = None,
        email: str | None = None,
        occurred_after: datetime | None = None,
        occurred_before: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[EventRow]:
        """Events matching every filter given, newest first. ``email`` matches any part of the customer key;
        ``occurred_after`` is inclusive, ``occurred_before`` exclusive."""
        async with self._db.transaction("listing events", write=False) as conn:
            return await ledger.list_events(
                conn,
                tenant=tenant,
                status=None if status is None else EventStatus(status).value,
                source=source,
                email=email,
                occurred_after=occurred_after,
                occurred_before=occurred_before,
                limit=limit,
                offset=offset,
            )

    async def attempts(self, event_id: int) -> list[AttemptRow]:
        """An event's delivery tries, oldest first."""
        async with self._db.transaction("reading attempts", write=False) as conn:
            return await ledger.attempt_rows(conn, event_id)

    async def drop_dead(self, event_ids: Sequence[int]) -> int:
        """Delete dead events and their attempts; returns how many events."""
        async with self._db.transaction("dropping dead events", write=True) as conn:
            return await ledger.drop_dead(conn, event_ids)

    # Housekeeping

    async def prune(self, delivered_older_than: timedelta, batch_size: int = 1000) -> dict[str, int]:
        """Delete events delivered longer ago than ``delivered_older_than`` (with their attempts) and expired
        cache rows, in short transactions of ``batch_size``; returns how many rows of each went.

        Between batches other callers get their turn (on SQLite the write lock is handed on in arrival order), so
        a large prune never holds ingest up for longer than one batch. Dead and undelivered events are kept.
        """
        if batch_size <= 0:
            raise ValueError("batch_size must be positive")
        removed = {"events": 0, "attempts": 0, "contact_cache": 0, "conversation_cache": 0}
        cutoff = self._db.now() - delivered_older_than
        while True:
            async with self._db.transaction("pruning delivered events", write=True) as conn:
                gone_events, gone_attempts = await ledger.prune_delivered(conn, cutoff, batch_size)
            removed["events"] += gone_events
            removed["attempts"] += gone_attempts
            if gone_events < batch_size:
                break
            await asyncio.sleep(0)
        while True:
            async with self._db.transaction("pruning caches", write=True) as conn:
                contacts, conversations = await ids.prune_expired(conn, self._db.now(), batch_size)
            removed["contact_cache"] += contacts
            removed["conversation_cache"] += conversations
            if contacts < batch_size and conversations < batch_size:
                break
        return removed

    # Seen tokens

    async def remember_token(self, scope: str, token: str, expires_at: datetime) -> bool:
        """Remember ``token`` (e.g. a signed event's id) in ``scope`` until ``expires_at``, when a signed request
        carrying it would be refused anyway; returns False, remembering nothing, when it is remembered already: a
        replay. Of callers presenting one token at once, on any number of nodes, exactly one gets True."""
        _check_token(scope, token)
        async with self._db.transaction("remembering a token", write=True) as conn:
            return await ledger.remember_token(conn, scope, token, expires_at, self._db.now())

    async def forget_token(self, scope: str, token: str) -> None:
        """Forget a remembered token, so that it is accepted once more (its request could not be handled)."""
        _check_token(scope, token)
        async with self._db.transaction("forgetting a token", write=True) as conn:
            await ledger.forget_token(conn, scope, token)

    async def prune_quarantine(self, older_than: timedelta, per_source: int, batch_size: int = 1000) -> int:
        """Delete kept requests not seen for ``older_than``, and those past the ``per_source`` last seen of each
        tenant and source, in short transactions of ``batch_size``; returns how many went."""
        if batch_size <= 0:
            raise ValueError("batch_size must be positive")
        removed = 0
        while True:
            async with self._db.transaction("pruning the quarantine", write=True) as conn:
                gone = await ledger.prune_quarantine(conn, self._db.now() - older_than, per_source, batch_size)
            removed += gone
            if gone < batch_size:
                return removed
            await asyncio.sleep(0)

    async def prune_seen_tokens(self, batch_size: int = 1000) -> int:
        """Delete the remembered tokens whose time is up, in short transactions of ``batch_size``; returns how
        many went."""
        if batch_size <= 0:
            raise ValueError("batch_size must be positive")
        removed = 0
        while True:
            async with self._db.transaction("pruning seen tokens", write=True) as conn:
                gone = await ledger.prune_seen_tokens(conn, self._db.now(), batch_size)
            removed += gone
            if gone < batch_size:
                return removed
            await asyncio.sleep(0)


_TOKEN_LIMIT = 255
"""The length of the seen_tokens table's scope and token columns."""


def _check_token(scope: str, token: str) -> None:
    for name, value in (("scope", scope), ("token", token)):
        if not value or len(value) > _TOKEN_LIMIT:
            raise ValueError(f"a seen token's {name} must have 1 to {_TOKEN_LIMIT} characters, not {len(value)}")
