"""The delivery queue: the one way events get in (ingest), and everything that moves them towards the Inbox.

:class:`DeliveryQueue` is what the worker, the HTTP layer and the commands talk to; :class:`SqlDeliveryQueue` keeps
it in the store's database, :class:`~inboxbridge.store.memory_queue.MemoryDeliveryQueue` in memory with the same
semantics (a contract suite runs against all of them).

The rules every implementation keeps:

- **Ingest is the accept rule.** A batch is stored whole or not at all; a repeated idempotency key is answered
  with the stored event as a duplicate; the events of a stopped tenant are stored parked, in the same
  transaction; a batch naming an unregistered tenant is refused with ValueError.
- **Per-key order.** Only the head of an ordering key (its oldest pending or in-flight event, by occurred_at then
  arrival) is claimed, once due, and only while no other event of the key holds a live lease.
- **Leases.** A claim leases an event to a worker for a while and records that a send may be under way (its send
  state UNKNOWN); every later call presents the lease token, and one whose lease is gone gets
  :class:`~inboxbridge.store.LeaseLost`. An expired lease makes the event claimable again.
- **Fairness.** Tenants with work take turns in a claim, so one backlog cannot starve another.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from inboxbridge.events import InboundEvent
from inboxbridge.store.database import Database
from inboxbridge.store.dialect import lock_keys_of_events
from inboxbridge.store.errors import LeaseLost, is_outage
from inboxbridge.store.group import GroupCommit
from inboxbridge.store.models import AttemptRecord, ClaimedEvent, EventStatus, IngestResult, SendState, TenantStatus
from inboxbridge.store.sql import heads, queue

__all__ = ["DeliveryQueue", "SqlDeliveryQueue"]

_NO_LEASE = {"lease_owner": None, "lease_token": None, "lease_expires_at": None}
# Events per group commit of ingests: a few hundred webhooks' worth keeps each transaction short.
_INGEST_GROUP_EVENTS = 1000
# Finished tries per group commit.
_FINISH_GROUP = 200


class DeliveryQueue(Protocol):
    """The queue of events on their way to the Inbox; see the module's docstring for the rules."""

    def now(self) -> datetime:
        """The queue's clock (aware UTC)."""
        ...

    async def ingest(self, batch: Sequence[InboundEvent]) -> list[IngestResult]:
        """Store ``batch`` in one transaction, in order; see the module's docstring."""
        ...

    async def claim(self, worker_id: str, limit: int, lease_seconds: float) -> list[ClaimedEvent]:
        """Lease up to ``limit`` claimable heads (one per ordering key) to ``worker_id`` for ``lease_seconds``."""
        ...

    async def extend_lease(self, event_id: int, lease_token: str, seconds: float) -> datetime:
        """Keep the lease ``seconds`` from now; returns the new expiry."""
        ...

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
        ...

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
        """Try again at ``next_attempt_at``; ``send_state`` UNKNOWN when this try may have reached Wix."""
        ...

    async def dead_letter(self, event_id: int, lease_token: str, *, attempt: AttemptRecord, reason: str) -> None:
        """Give up on the event: dead, with ``reason``, until an operator replays or drops it."""
        ...

    async def release(
        self,
        event_id: int,
        lease_token: str,
        *,
        send_state: SendState | None = None,
        not_before: datetime | None = None,
    ) -> None:
        """Hand the event back untried: pending, due now (or at ``not_before``), no try counted; ``send_state``
        NONE when this try certainly sent nothing and no earlier one may have."""
        ...

    async def replay(self, event_ids: Sequence[int]) -> int:
        """Dead events back to pending, due now, their retry schedule started over; returns how many."""
        ...

    async def replay_dead(self, tenant: str | None = None, source: str | None = None) -> int:
        """Replay every dead event (of a tenant, of a source); returns how many."""
        ...

    async def stop_tenant(self, tenant: str) -> int:
        """Stop the tenant's deliveries and park its pending events (they and later ones wait, parked, until
        :meth:`start_tenant`); returns how many were parked. Raises ValueError for an unknown tenant."""
        ...

    async def start_tenant(self, tenant: str) -> int:
        """Start the tenant's deliveries again and return its parked events to the queue; returns how many."""
        ...


class SqlDeliveryQueue:
    """The :class:`DeliveryQueue` on the store's database (the events, attempts and queue_heads tables).

    Concurrent ingests share one transaction (group commit), each succeeding or failing on its own; so do the
    outcomes of concurrent tries.
    """

    def __init__(self, database: Database) -> None:
        self._db = database
        self._ingests: GroupCommit[Sequence[InboundEvent], list[IngestResult]] = GroupCommit(
            self._ingest_group, shared_failure=is_outage, weight=len, max_weight=_INGEST_GROUP_EVENTS
        )
        self._finishes: GroupCommit[queue.Finish, None] = GroupCommit(
            self._finish_group, shared_failure=is_outage, weight=lambda _: 1, max_weight=_FINISH_GROUP
        )

    def now(self) -> datetime:
        """The database's clock (aware UTC)."""
        return self._db.now()

    async def ingest(self, batch: Sequence[InboundEvent]) -> list[IngestResult]:
        """Store ``batch``; returns once its events are committed (see :class:`DeliveryQueue`)."""
        if not batch:
            return []
        return await self._ingests.submit(list(batch))

    async def _ingest_group(self, batches: Sequence[Sequence[InboundEvent]]) -> list[list[IngestResult] | ValueError]:
        async with self._db.transaction("storing events", write=True) as conn:
            return await queue.ingest_batches(conn, batches, self.now())

    async def claim(self, worker_id: str, limit: int, lease_seconds: float) -> list[ClaimedEvent]:
        """Lease up to ``limit`` heads; each :class:`ClaimedEvent` tells the send state earlier tries left."""
        async with self._db.transaction("claiming events", write=True) as conn:
            return await queue.claim(
                conn, worker_id=worker_id, limit=limit, lease_seconds=lease_seconds, now=self.now()
            )

    async def extend_lease(self, event_id: int, lease_token: str, seconds: float) -> datetime:
        """Keep the lease ``seconds`` from now; returns the new expiry. Raises LeaseLost."""
        expires = self.now() + timedelta(seconds=seconds)
        await self._update_leased("extending a lease", event_id, lease_token, {"lease_expires_at": expires})
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
        """Delivered, with Wix's ids and the try recorded. Raises LeaseLost."""
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
        """Pending again from ``next_attempt_at``; ``conversation_id`` where the try sent (or meant to send) the
        message, if it got that far. Raises LeaseLost."""
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
        """Dead, with ``reason``. Raises LeaseLost."""
        values: dict[str, Any] = {"status": EventStatus.DEAD.value, "last_error": reason, **_NO_LEASE}
        await self._finish(event_id, lease_token, values, attempt)

    async def release(
        self,
        event_id: int,
        lease_token: str,
        *,
        send_state: SendState | None = None,
        not_before: datetime | None = None,
    ) -> None:
        """Pending, due now (or at ``not_before``), no try counted; by default the claim's UNKNOWN send state is
        kept. Raises LeaseLost."""
        due = max(self.now(), not_before) if not_before is not None else self.now()
        values: dict[str, Any] = {"status": EventStatus.PENDING.value, "next_attempt_at": due, **_NO_LEASE}
        if send_state is SendState.NONE:
            values.update(send_state=SendState.NONE.value, sending_started_at=None)
        await self._update_leased("releasing an event", event_id, lease_token, values)

    async def _update_leased(self, what: str, event_id: int, lease_token: str, values: Mapping[str, Any]) -> None:
        async with self._db.transaction(what, write=True) as conn:
            await lock_keys_of_events(conn, [event_id])
            await queue.update_leased(conn, event_id, lease_token, values)
            await heads.refresh_for_events(conn, [event_id])

    async def _finish(self, event_id: int, lease_token: str, values: Mapping[str, Any], attempt: AttemptRecord) -> None:
        await self._finishes.submit(queue.Finish(event_id, lease_token, values, attempt))

    async def _finish_group(self, finishes: Sequence[queue.Finish]) -> list[LeaseLost | None]:
        """Record the outcomes of many tries in one transaction; one whose lease is gone fails alone."""
        async with self._db.transaction("recording deliveries", write=True) as conn:
            # Every key of the group locked at once, in ascending order: no two groups wait in a circle.
            await lock_keys_of_events(conn, [finish.event_id for finish in finishes])
            return await queue.finish_leased(conn, finishes)

    async def replay(self, event_ids: Sequence[int]) -> int:
        """Dead events among ``event_ids`` back to pending, due now; returns how many."""
        async with self._db.transaction("replaying events", write=True) as conn:
            return await queue.replay(conn, event_ids, self.now())

    async def replay_dead(self, tenant: str | None = None, source: str | None = None) -> int:
        """Every dead event (of a tenant, of a source) back to pending, due now; returns how many."""
        async with self._db.transaction("replaying dead events", write=True) as conn:
            return await queue.replay_dead(conn, tenant, source, self.now())

    async def stop_tenant(self, tenant: str) -> int:
        """Stopped, its pending events parked, in one transaction; returns how many were parked."""
        async with self._db.transaction("stopping a tenant", write=True) as conn:
            await queue.set_tenant_status(conn, tenant, TenantStatus.STOPPED, self.now())
            return await queue.park_tenant(conn, tenant)

    async def start_tenant(self, tenant: str) -> int:
        """Active, its parked events back in the queue, in one transaction; returns how many."""
        async with self._db.transaction("starting a tenant", write=True) as conn:
            await queue.set_tenant_status(conn, tenant, TenantStatus.ACTIVE, self.now())
            return await queue.unpark_tenant(conn, tenant)
