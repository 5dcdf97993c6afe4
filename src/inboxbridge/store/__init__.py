"""The durable ledger of inboxbridge, by role: the :class:`DeliveryQueue` (events in, claims, leases, outcomes),
the :class:`Ledger` (tenants, quarantine, reads, drops, pruning), the :class:`StoredIdCache` and the
:class:`SharedRateLimiter`, all on one :class:`Database`; an in-memory queue with the queue's semantics for tests.

Open it with :meth:`Store.open`; create or upgrade a database's schema alone with :func:`migrate`.
"""

from __future__ import annotations

from inboxbridge.store.database import Clock, Database
from inboxbridge.store.delivery_queue import DeliveryQueue, SqlDeliveryQueue
from inboxbridge.store.errors import LeaseLost, SchemaVersionError, StoreError, StoreUnavailable
from inboxbridge.store.id_cache import StoredIdCache
from inboxbridge.store.ledger import Ledger
from inboxbridge.store.memory_queue import MemoryDeliveryQueue
from inboxbridge.store.migrate import head_revision, migrate
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
from inboxbridge.store.ratelimit import SharedRateLimiter
from inboxbridge.store.store import Store

__all__ = [
    "AttemptRecord",
    "AttemptRow",
    "CachedIds",
    "ClaimedEvent",
    "Clock",
    "Database",
    "DeliveryQueue",
    "EventRow",
    "EventStatus",
    "IngestResult",
    "LeaseLost",
    "Ledger",
    "MemoryDeliveryQueue",
    "QuarantineRow",
    "SchemaVersionError",
    "SendState",
    "SharedRateLimiter",
    "SqlDeliveryQueue",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "StoredIdCache",
    "TenantRow",
    "TenantStatus",
    "head_revision",
    "migrate",
]
