"""A :class:`~inboxbridge.store.DeliveryQueue` in memory, with the same semantics as the one in the database.

For unit tests of whatever drives the queue (the worker, the commands): no database, each call a few
microseconds. The contract suite (tests/store/test_queue_contract.py) holds it to the same rules as the SQL queue.
Nothing survives the process, and one process only sees it.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from inboxbridge.events import InboundEvent
from inboxbridge.store.database import Clock, read_clock
from inboxbridge.store.errors import LeaseLost
from inboxbridge.store.models import (
    AttemptRecord,
    ClaimedEvent,
    EventRow,
    EventStatus,
    IngestResult,
    SendState,
    TenantStatus,
)

__all__ = ["MemoryDeliveryQueue"]

_ACTIVE = (EventStatus.PENDING, EventStatus.IN_FLIGHT)


@dataclass
class _Entry:
    """One stored event and its delivery state (the columns of the events table)."""

    id: int
    event: InboundEvent
    idempotency_key: str
    received_at: datetime
    status: EventStatus
    next_attempt_at: datetime
    attempts: int = 0
    lease_owner: str | None = None
    lease_token: str | None = None
    lease_expires_at: datetime | None = None
    send_state: SendState = SendState.NONE
    sending_started_at: datetime | None = None
    conversation_id: str | None = None
    wix_message_id: str | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None
    tries: list[AttemptRecord] = field(default_factory=list)

    def clear_lease(self) -> None:
        self.lease_owner = self.lease_token = self.lease_expires_at = None


class MemoryDeliveryQueue:
    """The delivery queue's rules over dictionaries. Register tenants with :meth:`add_tenant` before their events;
    read what happened with :meth:`row` and :meth:`tries`."""

    def __init__(self, *, clock: Clock | None = None, tenants: Iterable[str] = ()) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self._tenants: dict[str, TenantStatus] = dict.fromkeys(tenants, TenantStatus.ACTIVE)
        self._entries: dict[int, _Entry] = {}
        self._by_key: dict[tuple[str, str, str], int] = {}
        self._next_id = 1

    def now(self) -> datetime:
        """The queue's clock (aware UTC)."""
        return read_clock(self._clock)

    def add_tenant(self, tenant: str, status: TenantStatus = TenantStatus.ACTIVE) -> None:
        """Register a tenant (as the ledger's ``upsert_tenant`` does for the SQL queue)."""
        self._tenants[tenant] = status

    def row(self, event_id: int) -> EventRow | None:
        """The event as the ledger would show it, or None."""
        entry = self._entries.get(event_id)
        if entry is None:
            return None
        return EventRow(
            id=entry.id,
            tenant_id=entry.event.tenant,
            source=entry.event.source,
            idempotency_key=entry.idempotency_key,
            ordering_key=entry.event.ordering_key,
            customer_key=entry.event.customer_key,
            kind=entry.event.kind.value,
            occurred_at=entry.event.occurred_at,
            received_at=entry.received_at,
            status=entry.status,
            attempts=entry.attempts,
            next_attempt_at=entry.next_attempt_at,
            lease_owner=entry.lease_owner,
            lease_token=entry.lease_token,
            lease_expires_at=entry.lease_expires_at,
            send_state=entry.send_state,
            sending_started_at=entry.sending_started_at,
            conversation_id=entry.conversation_id,
            wix_message_id=entry.wix_message_id,
            last_error=entry.last_error,
            delivered_at=entry.delivered_at,
            event=entry.event,
        )

    def tries(self, event_id: int) -> list[AttemptRecord]:
        """The event's recorded tries, oldest first."""
        entry = self._entries.get(event_id)
        return [] if entry is None else list(entry.tries)

    def counts(self) -> dict[str, int]:
        """Events per status, every status present."""
        found = {status.value: 0 for status in EventStatus}
        for entry in self._entries.values():
            found[entry.status.value] += 1
        return found

    async def ingest(self, batch: Sequence[InboundEvent]) -> list[IngestResult]:
        """Store ``batch`` whole or not at all; see :class:`~inboxbridge.store.DeliveryQueue`."""
        if missing := {event.tenant for event in batch} - self._tenants.keys():
            raise ValueError(
                f"unknown tenant(s): {', '.join(sorted(missing))}; tenants must be registered before their events"
            )
        now = self.now()
        results: list[IngestResult] = []
        for event in batch:
            key = (event.tenant, event.source, event.idempotency_key())
            stored = self._by_key.get(key)
            if stored is not None:
                results.append(IngestResult(event_id=stored, duplicate=True))
                continue
            parked = self._tenants[event.tenant] is TenantStatus.STOPPED
            entry = _Entry(
                id=self._next_id,
                event=event,
                idempotency_key=key[2],
                received_at=now,
                status=EventStatus.PARKED if parked else EventStatus.PENDING,
                next_attempt_at=now,
            )
            self._next_id += 1
            self._entries[entry.id] = entry
            self._by_key[key] = entry.id
            results.append(IngestResult(event_id=entry.id, duplicate=False, parked=parked))
        return results

    def _ready_heads(self, now: datetime) -> dict[str, list[tuple[datetime, int]]]:
        """Per active tenant, its keys' heads that may be claimed now, as (ready at, event id), oldest first."""
        active: dict[str, list[_Entry]] = defaultdict(list)
        for entry in self._entries.values():
            if entry.status in _ACTIVE:
                active[entry.event.ordering_key].append(entry)
        ready: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
        for entries in active.values():
            head = min(entries, key=lambda entry: (entry.event.occurred_at, entry.id))
            if self._tenants.get(head.event.tenant) is not TenantStatus.ACTIVE:
                continue
            ready_at = head.next_attempt_at if head.status is EventStatus.PENDING else head.lease_expires_at
            assert ready_at is not None
            # A late event with an older timestamp waits for the one of its key in flight.
            leases = [e.lease_expires_at for e in entries if e.status is EventStatus.IN_FLIGHT and e.lease_expires_at]
            ready_at = max([ready_at, *leases])
            if ready_at <= now:
                ready[head.event.tenant].append((ready_at, head.id))
        return {tenant: sorted(heads) for tenant, heads in ready.items()}

    async def claim(self, worker_id: str, limit: int, lease_seconds: float) -> list[ClaimedEvent]:
        """Lease up to ``limit`` heads, tenants taking turns (the oldest ready first)."""
        if limit <= 0:
            return []
        now = self.now()
        ready = self._ready_heads(now)
        tenants = sorted(ready, key=lambda tenant: (ready[tenant][0][0], tenant))[:limit]
        chosen: list[int] = []
        depth = 0
        while len(chosen) < limit and any(depth < len(ready[tenant]) for tenant in tenants):
            chosen.extend(ready[tenant][depth][1] for tenant in tenants if depth < len(ready[tenant]))
            depth += 1
        expires = now + timedelta(seconds=lease_seconds)
        claimed: list[ClaimedEvent] = []
        for event_id in chosen[:limit]:
            entry = self._entries[event_id]
            earlier, earlier_start = entry.send_state, entry.sending_started_at
            lost = entry.lease_expires_at if entry.status is EventStatus.IN_FLIGHT else None
            entry.status = EventStatus.IN_FLIGHT
            entry.lease_owner = worker_id
            entry.lease_token = secrets.token_hex(16)
            entry.lease_expires_at = expires
            if earlier is not SendState.UNKNOWN:
                entry.sending_started_at = now
            entry.send_state = SendState.UNKNOWN
            claimed.append(
                ClaimedEvent(
                    event_id=entry.id,
                    lease_token=entry.lease_token,
                    event=entry.event,
                    attempts=entry.attempts,
                    send_state=earlier,
                    conversation_id=entry.conversation_id,
                    sending_started_at=earlier_start,
                    lease_expires_at=expires,
                    lost_lease_expired_at=lost,
                )
            )
        return claimed

    def _leased(self, event_id: int, lease_token: str) -> _Entry:
        entry = self._entries.get(event_id)
        if entry is None or entry.status is not EventStatus.IN_FLIGHT or entry.lease_token != lease_token:
            raise LeaseLost.of_event(event_id)
        return entry

    def _finish(self, event_id: int, lease_token: str, attempt: AttemptRecord) -> _Entry:
        entry = self._leased(event_id, lease_token)
        entry.clear_lease()
        entry.attempts += 1
        entry.tries.append(attempt)
        return entry

    async def extend_lease(self, event_id: int, lease_token: str, seconds: float) -> datetime:
        """Keep the lease ``seconds`` from now; returns the new expiry. Raises LeaseLost."""
        entry = self._leased(event_id, lease_token)
        entry.lease_expires_at = self.now() + timedelta(seconds=seconds)
        return entry.lease_expires_at

    async def ack(
        self,
        event_id: int,
        lease_token: str,
        *,
        attempt: AttemptRecord,
        conversation_id: str | None = None,
        message_id: str | None = None,
    ) -> None:
        """Delivered, with Wix's ids and the try recorded. Raises LeaseLost."""
        entry = self._finish(event_id, lease_token, attempt)
        entry.status = EventStatus.DELIVERED
        entry.delivered_at = self.now()
        entry.wix_message_id = message_id
        entry.last_error = None
        if conversation_id is not None:
            entry.conversation_id = conversation_id

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
        """Pending again from ``next_attempt_at``. Raises LeaseLost."""
        entry = self._finish(event_id, lease_token, attempt)
        entry.status = EventStatus.PENDING
        entry.next_attempt_at = next_attempt_at
        entry.last_error = error
        entry.send_state = SendState(send_state)
        if entry.send_state is SendState.NONE:
            entry.sending_started_at = None
        if conversation_id is not None:
            entry.conversation_id = conversation_id

    async def dead_letter(self, event_id: int, lease_token: str, *, attempt: AttemptRecord, reason: str) -> None:
        """Dead, with ``reason``. Raises LeaseLost."""
        entry = self._finish(event_id, lease_token, attempt)
        entry.status = EventStatus.DEAD
        entry.last_error = reason

    async def release(
        self,
        event_id: int,
        lease_token: str,
        *,
        send_state: SendState | None = None,
        not_before: datetime | None = None,
    ) -> None:
        """Pending, due now (or at ``not_before``), no try counted. Raises LeaseLost."""
        entry = self._leased(event_id, lease_token)
        entry.clear_lease()
        entry.status = EventStatus.PENDING
        entry.next_attempt_at = max(self.now(), not_before) if not_before is not None else self.now()
        if send_state is SendState.NONE:
            entry.send_state = SendState.NONE
            entry.sending_started_at = None

    def _replay(self, entries: Iterable[_Entry]) -> int:
        now = self.now()
        count = 0
        for entry in entries:
            if entry.status is EventStatus.DEAD:
                entry.status = EventStatus.PENDING
                entry.attempts = 0
                entry.next_attempt_at = now
                entry.clear_lease()
                count += 1
        return count

    async def replay(self, event_ids: Sequence[int]) -> int:
        """Dead events among ``event_ids`` back to pending, due now; returns how many."""
        return self._replay(self._entries[i] for i in set(event_ids) if i in self._entries)

    async def replay_dead(self, tenant: str | None = None, source: str | None = None) -> int:
        """Every dead event (of a tenant, of a source) back to pending; returns how many."""
        return self._replay(
            entry
            for entry in self._entries.values()
            if tenant in (None, entry.event.tenant) and source in (None, entry.event.source)
        )

    def _set_status(self, tenant: str, status: TenantStatus, moved: EventStatus, to: EventStatus) -> int:
        if tenant not in self._tenants:
            raise ValueError(f"unknown tenant {tenant!r}")
        self._tenants[tenant] = status
        count = 0
        for entry in self._entries.values():
            if entry.event.tenant == tenant and entry.status is moved:
                entry.status = to
                count += 1
        return count

    async def stop_tenant(self, tenant: str) -> int:
        """Stopped, its pending events parked; returns how many were parked."""
        return self._set_status(tenant, TenantStatus.STOPPED, EventStatus.PENDING, EventStatus.PARKED)

    async def start_tenant(self, tenant: str) -> int:
        """Active, its parked events back in the queue; returns how many."""
        return self._set_status(tenant, TenantStatus.ACTIVE, EventStatus.PARKED, EventStatus.PENDING)
