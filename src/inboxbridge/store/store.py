"""The store's public face: one object per process, every call one short transaction."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from inboxbridge.events import InboundEvent
from inboxbridge.store import admin, caches, heads, queries, queue, ratelimit
from inboxbridge.store import quarantine as kept
from inboxbridge.store.changes import ChangeWatch
from inboxbridge.store.dialect import (
    Engines,
    SqliteTarget,
    create_engines,
    lock_keys_of_events,
    parse_url,
    upsert,
)
from inboxbridge.store.errors import LeaseLost, is_outage, unavailable_on_failure
from inboxbridge.store.group import GroupCommit
from inboxbridge.store.migrate import upgrade, verify
from inboxbridge.store.models import (
    AttemptRecord,
    AttemptRow,
    CachedIds,
    ClaimedEvent,
    EventRow,
    EventStatus,
    IngestResult,
    QuarantineRow,
    SendState,
    TenantRow,
    TenantStatus,
)
from inboxbridge.store.schema import attempts, events, is_status, tenants

__all__ = ["Clock", "Store"]

Clock = Callable[[], datetime]

_NO_LEASE = {"lease_owner": None, "lease_token": None, "lease_expires_at": None}
# Events per group commit of ingests: a few hundred webhooks' worth keeps each transaction short.
_INGEST_GROUP_EVENTS = 1000
# Finished tries per group commit.
_FINISH_GROUP = 200


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Store:
    """The durable ledger: events and their delivery, tenants, quarantined requests, Wix id caches.

    Open with :meth:`open`; share one instance between all tasks of a process. Database failures surface as
    :class:`~inboxbridge.store.StoreUnavailable` with nothing of the failed call stored.
    """

    def __init__(self, engines: Engines, clock: Clock, description: str) -> None:
        self._engines = engines
        self.backend = engines.target.backend
        self._clock = clock
        self._description = description
        self._write_lock = asyncio.Lock()
        # Tenants seen registered: their rows are never deleted, so an ingest need not look them up again.
        self._known_tenants: set[str] = set()
        self._drop_listeners: list[Callable[[str, Sequence[str]], None]] = []
        self._ingests: GroupCommit[Sequence[InboundEvent], list[IngestResult]] = GroupCommit(
            self._ingest_group, shared_failure=is_outage, weight=len, max_weight=_INGEST_GROUP_EVENTS
        )
        self._finishes: GroupCommit[queue.Finish, None] = GroupCommit(
            self._finish_group, shared_failure=is_outage, weight=lambda _: 1, max_weight=_FINISH_GROUP
        )

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        migrate: bool = True,
        clock: Clock | None = None,
        busy_timeout: float = 5.0,
    ) -> Store:
        """Open the database at ``url``: ``sqlite:///file.db``, ``sqlite+aiosqlite:///...``, a path, or
        ``postgresql://user@host/database`` (see :func:`~inboxbridge.store.dialect.parse_url` for the options).

        With ``migrate`` the schema is created or upgraded; without, a schema that is missing, behind, or
        newer than this code is refused with :class:`~inboxbridge.store.SchemaVersionError`.
        ``busy_timeout`` is how long (seconds) a call waits for another process's write lock (SQLite) or for a
        free pooled connection (PostgreSQL) before giving up as unavailable.
        """
        target = parse_url(url)
        target.check_reachable()
        engines = create_engines(target, busy_timeout=busy_timeout)
        try:
            if migrate:
                await upgrade(engines, target.describe())
            else:
                await verify(engines, target.describe())
        except BaseException:
            await engines.dispose()
            raise
        return cls(engines, clock or _utc_now, target.describe())

    @property
    def engine(self) -> AsyncEngine:
        """The underlying engine, for diagnostics (query plans, pragmas); the store's methods are the API."""
        return self._engines.read

    async def close(self) -> None:
        """Close every connection."""
        await self._engines.dispose()

    def now(self) -> datetime:
        """The store's clock (aware UTC)."""
        value = self._clock()
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("the store's clock must return timezone-aware datetimes")
        return value.astimezone(UTC)

    @asynccontextmanager
    async def _transaction(self, what: str, *, write: bool) -> AsyncIterator[AsyncConnection]:
        if not write:
            with unavailable_on_failure(f"{what} on the {self._description}"):
                async with self._engines.read.begin() as conn:
                    yield conn
            return
        if not self._engines.serializes_writes:
            # PostgreSQL: writers run side by side; key locks and row locks order what must be ordered.
            with unavailable_on_failure(f"{what} on the {self._description}"):
                async with self._engines.write.begin() as conn:
                    yield conn
            return
        # SQLite has one writer at a time. Queueing this process's writers here, fairly and without polling,
        # leaves the busy timeout to arbitrate only between processes; otherwise dozens of connections polling
        # for the lock can starve one past the timeout under a burst of webhooks.
        async with self._write_lock:
            with unavailable_on_failure(f"{what} on the {self._description}"):
                async with self._engines.write.begin() as conn:
                    yield conn

    def watch_changes(self) -> ChangeWatch | None:
        """A :class:`~inboxbridge.store.changes.ChangeWatch` on a SQLite store's file (close it when done); None on
        PostgreSQL."""
        target = self._engines.target
        if isinstance(target, SqliteTarget):
            return ChangeWatch(target.path)
        return None

    async def ping(self) -> None:
        """Check that the database answers; raises StoreUnavailable if not."""
        async with self._transaction("ping", write=False) as conn:
            await conn.execute(text("SELECT 1"))

    # Tenants

    async def upsert_tenant(
        self, tenant: str, *, status: TenantStatus | str = TenantStatus.ACTIVE, instance_id: str | None = None
    ) -> None:
        """Register a tenant, or update its status and Wix app instance id."""
        now = self.now()
        values = {
            "id": tenant,
            "status": TenantStatus(status).value,
            "instance_id": instance_id,
            "created_at": now,
            "updated_at": now,
        }
        async with self._transaction("saving a tenant", write=True) as conn:
            # created_at stays that of the first registration.
            await conn.execute(upsert(conn, tenants, values, ["id"], ["status", "instance_id", "updated_at"]))

    async def set_tenant_status(self, tenant: str, status: TenantStatus | str) -> None:
        """Start or stop a tenant's deliveries; raises ValueError for an unknown tenant."""
        async with self._transaction("changing a tenant", write=True) as conn:
            result = await conn.execute(
                update(tenants)
                .where(tenants.c.id == tenant)
                .values(status=TenantStatus(status).value, updated_at=self.now())
            )
            if result.rowcount == 0:
                raise ValueError(f"unknown tenant {tenant!r}")

    async def get_tenant(self, tenant: str) -> TenantRow | None:
        """One tenant, or None."""
        async with self._transaction("reading a tenant", write=False) as conn:
            return await queries.get_tenant(conn, tenant)

    async def list_tenants(self) -> list[TenantRow]:
        """Every tenant."""
        async with self._transaction("listing tenants", write=False) as conn:
            return await queries.list_tenants(conn)

    # Intake

    async def ingest(self, batch: Sequence[InboundEvent]) -> list[IngestResult]:
        """Store events in one transaction, in order; a repeated idempotency key returns the stored id as a
        duplicate. Raises ValueError for a tenant that is not registered (nothing stored).

        Concurrent calls share one transaction (group commit); each returns once its events are committed, and
        each succeeds or fails on its own: all of its events are stored, or none.
        """
        if not batch:
            return []
        return await self._ingests.submit(list(batch))

    async def _ingest_group(self, batches: Sequence[Sequence[InboundEvent]]) -> list[list[IngestResult] | ValueError]:
        async with self._transaction("storing events", write=True) as conn:
            return await queue.ingest_batches(conn, batches, self.now(), self._known_tenants)

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
    ) -> int:
        """Keep a request that could not be parsed, with why; returns its id."""
        async with self._transaction("quarantining a request", write=True) as conn:
            return await kept.add(
                conn,
                tenant=tenant,
                source=source,
                reason=reason,
                method=method,
                url=url,
                headers=headers,
                body=body,
                received_at=self.now(),
            )

    async def list_quarantine(
        self, tenant: str | None = None, *, limit: int = 50, offset: int = 0
    ) -> list[QuarantineRow]:
        """Quarantined requests, newest first."""
        async with self._transaction("listing quarantine", write=False) as conn:
            return await kept.list_rows(conn, tenant, limit, offset)

    async def get_quarantine(self, quarantine_id: int) -> QuarantineRow | None:
        """One quarantined request, or None."""
        async with self._transaction("reading quarantine", write=False) as conn:
            return await kept.get(conn, quarantine_id)

    async def delete_quarantine(self, quarantine_id: int) -> bool:
        """Delete a quarantined request; returns whether it existed."""
        async with self._transaction("deleting from quarantine", write=True) as conn:
            return await kept.remove(conn, quarantine_id)

    # Delivery

    async def claim(self, worker_id: str, limit: int, lease_seconds: float) -> list[ClaimedEvent]:
        """Lease up to ``limit`` events to ``worker_id`` for ``lease_seconds``.

        Only the head of an ordering key (its oldest pending or in-flight event) is claimed, once due, and
        only while no other event of the key holds a live lease; an in-flight event whose lease expired is
        claimed again with its send state kept. Tenants with work take turns, so one backlog cannot starve
        another.

        Each claimed event is recorded as possibly being sent from the claim on (its ``send_state`` in the store
        is UNKNOWN), so a worker that dies mid-send leaves an event its successor reconciles before sending
        again; the :class:`ClaimedEvent` tells the state earlier tries left.
        """
        async with self._transaction("claiming events", write=True) as conn:
            return await queue.claim(
                conn, worker_id=worker_id, limit=limit, lease_seconds=lease_seconds, now=self.now()
            )

    async def extend_lease(self, event_id: int, lease_token: str, seconds: float) -> datetime:
        """Keep the lease ``seconds`` from now; returns the new expiry. Raises LeaseLost."""
        expires = self.now() + timedelta(seconds=seconds)
        async with self._transaction("extending a lease", write=True) as conn:
            await lock_keys_of_events(conn, [event_id])
            await queue.update_leased(conn, event_id, lease_token, {"lease_expires_at": expires})
            await heads.refresh_for_events(conn, [event_id])
        return expires

    async def ack(
        self,
        event_id: int,
        lease_token: str,
        *,
        attempt: AttemptRecord,
        conversation_id: str | None = None,
        message_id: str | None = None,
    ) -> None:
        """The event is in the Inbox: delivered, with Wix's ids and the try recorded."""
        values: dict[str, Any] = {
            "status": EventStatus.DELIVERED.value,
            "delivered_at": self.now(),
            "wix_message_id": message_id,
            "last_error": None,
            **_NO_LEASE,
        }
        if conversation_id is not None:
            values["conversation_id"] = conversation_id
        await self._finish(event_id, lease_token, values, attempt)

    async def retry(
        self,
        event_id: int,
        lease_token: str,
        *,
        attempt: AttemptRecord,
        next_attempt_at: datetime,
        error: str,
        send_state: SendState,
        conversation_id: str | None = None,
    ) -> None:
        """Try again at ``next_attempt_at``; ``send_state`` UNKNOWN when this try may have reached Wix;
        ``conversation_id`` where the try sent (or meant to send) the message, if it got that far."""
        state = SendState(send_state)
        values: dict[str, Any] = {
            "status": EventStatus.PENDING.value,
            "next_attempt_at": next_attempt_at,
            "last_error": error,
            "send_state": state.value,
            **_NO_LEASE,
        }
        if state is SendState.NONE:
            values["sending_started_at"] = None
        if conversation_id is not None:
            values["conversation_id"] = conversation_id
        await self._finish(event_id, lease_token, values, attempt)

    async def dead_letter(self, event_id: int, lease_token: str, *, attempt: AttemptRecord, reason: str) -> None:
        """Give up on the event: dead, with ``reason``, until an operator replays or drops it."""
        values: dict[str, Any] = {
            "status": EventStatus.DEAD.value,
            "last_error": reason,
            **_NO_LEASE,
        }
        await self._finish(event_id, lease_token, values, attempt)

    async def release(self, event_id: int, lease_token: str, *, send_state: SendState | None = None) -> None:
        """Hand the event back untried (shutdown): pending, due now, no try counted. Raises LeaseLost.

        ``send_state`` is what this try leaves: NONE when it certainly sent nothing and no earlier try may have
        (the next claim then sends without reconciling); by default the claim's UNKNOWN is kept.
        """
        values: dict[str, Any] = {
            "status": EventStatus.PENDING.value,
            "next_attempt_at": self.now(),
            **_NO_LEASE,
        }
        if send_state is SendState.NONE:
            values.update(send_state=SendState.NONE.value, sending_started_at=None)
        async with self._transaction("releasing an event", write=True) as conn:
            await lock_keys_of_events(conn, [event_id])
            await queue.update_leased(conn, event_id, lease_token, values)
            await heads.refresh_for_events(conn, [event_id])

    async def _finish(self, event_id: int, lease_token: str, values: Mapping[str, Any], attempt: AttemptRecord) -> None:
        await self._finishes.submit(queue.Finish(event_id, lease_token, values, attempt))

    async def _finish_group(self, finishes: Sequence[queue.Finish]) -> list[LeaseLost | None]:
        """Record the outcomes of many tries in one transaction; one whose lease is gone fails alone."""
        async with self._transaction("recording deliveries", write=True) as conn:
            # Every key of the group locked at once, in ascending order: no two groups wait in a circle.
            await lock_keys_of_events(conn, [finish.event_id for finish in finishes])
            return await queue.finish_leased(conn, finishes)

    # Operator actions

    async def replay(self, event_ids: Sequence[int]) -> int:
        """Dead events back to pending, due now, their retry schedule started over; returns how many."""
        async with self._transaction("replaying events", write=True) as conn:
            return await admin.replay(conn, event_ids, self.now())

    async def replay_dead(self, tenant: str | None = None, source: str | None = None) -> int:
        """Replay every dead event (of a tenant, of a source); returns how many."""
        async with self._transaction("replaying dead events", write=True) as conn:
            return await admin.replay_dead(conn, tenant, source, self.now())

    async def drop_dead(self, event_ids: Sequence[int]) -> int:
        """Delete dead events and their attempts; returns how many events."""
        async with self._transaction("dropping dead events", write=True) as conn:
            return await admin.drop_dead(conn, event_ids)

    async def park_tenant(self, tenant: str) -> int:
        """Set the tenant's pending events aside (parked) until :meth:`unpark_tenant`; returns how many."""
        async with self._transaction("parking a tenant", write=True) as conn:
            return await admin.park_tenant(conn, tenant)

    async def unpark_tenant(self, tenant: str) -> int:
        """Return the tenant's parked events to the queue; returns how many."""
        async with self._transaction("unparking a tenant", write=True) as conn:
            return await admin.unpark_tenant(conn, tenant)

    # Reading

    async def counts(self, tenant: str | None = None) -> dict[str, int]:
        """Events per status, every status present."""
        async with self._transaction("counting events", write=False) as conn:
            return await queries.counts(conn, tenant)

    async def oldest_pending_age(self, tenant: str | None = None) -> float | None:
        """Seconds since the oldest undelivered (pending or in-flight) event was received; None when none."""
        async with self._transaction("reading the backlog age", write=False) as conn:
            oldest = await queries.oldest_pending_received(conn, tenant)
        return None if oldest is None else max(0.0, (self.now() - oldest).total_seconds())

    async def get_event(self, event_id: int) -> EventRow | None:
        """One event with every column and the decoded event, or None."""
        async with self._transaction("reading an event", write=False) as conn:
            return await queries.get_event(conn, event_id)

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
        async with self._transaction("listing events", write=False) as conn:
            return await queries.list_events(
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
        async with self._transaction("reading attempts", write=False) as conn:
            return await queries.attempt_rows(conn, event_id)

    # Caches

    async def get_cached_contacts(self, tenant: str, customer_key: str) -> list[str] | None:
        """Contact ids cached for a customer, or None when missing or expired."""
        async with self._transaction("reading the contact cache", write=False) as conn:
            return await caches.get_contacts(conn, tenant, customer_key, self.now())

    async def get_cached_ids(self, tenant: str, customer_keys: Sequence[str]) -> CachedIds:
        """In one read, the unexpired contact ids cached for ``customer_keys`` and the conversation ids cached for
        those contacts, each with its seconds left."""
        async with self._transaction("reading the caches", write=False) as conn:
            return await caches.get_many(conn, tenant, customer_keys, self.now())

    async def put_cached_contacts(
        self, tenant: str, customer_key: str, contact_ids: Sequence[str], ttl_seconds: float
    ) -> None:
        """Cache a customer's contact ids for ``ttl_seconds``."""
        expires = caches.expiry(self.now(), ttl_seconds)
        async with self._transaction("writing the contact cache", write=True) as conn:
            await caches.put_contacts(conn, tenant, customer_key, contact_ids, expires)

    async def drop_cached_contacts(self, tenant: str, customer_key: str) -> None:
        """Forget a customer's cached contact ids."""
        async with self._transaction("writing the contact cache", write=True) as conn:
            await caches.drop_contacts(conn, tenant, customer_key)

    async def get_cached_conversation(self, tenant: str, contact_id: str) -> str | None:
        """The conversation id cached for a contact, or None when missing or expired."""
        async with self._transaction("reading the conversation cache", write=False) as conn:
            return await caches.get_conversation(conn, tenant, contact_id, self.now())

    async def put_cached_conversation(
        self, tenant: str, contact_id: str, conversation_id: str, ttl_seconds: float
    ) -> None:
        """Cache a contact's conversation id for ``ttl_seconds``."""
        expires = caches.expiry(self.now(), ttl_seconds)
        async with self._transaction("writing the conversation cache", write=True) as conn:
            await caches.put_conversation(conn, tenant, contact_id, conversation_id, expires)

    async def drop_cached_conversations(self, tenant: str, conversation_ids: Sequence[str]) -> int:
        """Forget every cached mapping to these conversations (merged or gone at Wix); returns how many.

        The listeners of :meth:`on_conversations_dropped` forget them too, even if the store cannot.
        """
        try:
            async with self._transaction("writing the conversation cache", write=True) as conn:
                return await caches.drop_conversations(conn, tenant, conversation_ids)
        finally:
            for listener in self._drop_listeners:
                listener(tenant, conversation_ids)

    def on_conversations_dropped(self, listener: Callable[[str, Sequence[str]], None]) -> None:
        """Have ``listener(tenant, conversation_ids)`` called on every drop of cached conversations made through
        this store (whoever makes it), so copies of the cache in this process's memory stay in step."""
        self._drop_listeners.append(listener)

    # Shared rate limits

    async def reserve_rate_tokens(self, key: str, count: int, rate: float, burst: int) -> float:
        """Take ``count`` tokens from the shared bucket of ``key`` (``rate`` a second, up to ``burst``); returns
        the seconds to wait before they may be used. Every process on this database draws from the same bucket."""
        async with self._transaction("reserving rate-limit tokens", write=True) as conn:
            return await ratelimit.reserve(conn, key, count, rate, burst)

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
        cutoff = self.now() - delivered_older_than
        while True:
            async with self._transaction("pruning delivered events", write=True) as conn:
                # Nodes pruning at once take different batches instead of waiting for each other's rows.
                ids = list(
                    (
                        await conn.execute(
                            select(events.c.id)
                            .where(is_status(events, "delivered"), events.c.delivered_at < cutoff)
                            .limit(batch_size)
                            .with_for_update(skip_locked=True)
                        )
                    ).scalars()
                )
                if ids:
                    gone = await conn.execute(delete(attempts).where(attempts.c.event_id.in_(ids)))
                    removed["attempts"] += gone.rowcount
                    gone = await conn.execute(delete(events).where(events.c.id.in_(ids)))
                    removed["events"] += gone.rowcount
            if len(ids) < batch_size:
                break
            await asyncio.sleep(0)
        while True:
            async with self._transaction("pruning caches", write=True) as conn:
                contacts, conversations = await caches.prune_expired(conn, self.now(), batch_size)
            removed["contact_cache"] += contacts
            removed["conversation_cache"] += conversations
            if contacts < batch_size and conversations < batch_size:
                break
        return removed
