"""The durable ledger of inboxbridge: events and their delivery, tenants, quarantine, Wix id caches.

Open it with :meth:`Store.open`; create or upgrade a database's schema alone with :func:`migrate`.
"""

from __future__ import annotations

from inboxbridge.store.errors import LeaseLost, SchemaVersionError, StoreError, StoreUnavailable
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
from inboxbridge.store.store import Clock, Store

__all__ = [
    "AttemptRecord",
    "AttemptRow",
    "CachedIds",
    "ClaimedEvent",
    "Clock",
    "EventRow",
    "EventStatus",
    "IngestResult",
    "LeaseLost",
    "QuarantineRow",
    "SchemaVersionError",
    "SendState",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "TenantRow",
    "TenantStatus",
    "head_revision",
    "migrate",
]
