"""The values the store takes and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from inboxbridge.events import InboundEvent

__all__ = [
    "AttemptRecord",
    "AttemptRow",
    "CachedIds",
    "ClaimedEvent",
    "EventRow",
    "EventStatus",
    "IngestResult",
    "QuarantineRow",
    "SendState",
    "TenantRow",
    "TenantStatus",
]


class EventStatus(StrEnum):
    """Where an event is in its life."""

    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    DELIVERED = "delivered"
    DEAD = "dead"
    PARKED = "parked"


class SendState(StrEnum):
    """Whether an earlier try may have reached Wix's Send Message, so the next one must reconcile first."""

    NONE = "none"
    UNKNOWN = "unknown"


class TenantStatus(StrEnum):
    """Whether a tenant's events are being delivered."""

    ACTIVE = "active"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class IngestResult:
    """The stored event's id, and whether it was already there (nothing new stored)."""

    event_id: int
    duplicate: bool
    parked: bool = False
    """Stored set aside, not queued: the tenant is stopped (its Wix app was removed from the site)."""


@dataclass(frozen=True, slots=True)
class ClaimedEvent:
    """An event leased to one worker; every later call about it must present ``lease_token``."""

    event_id: int
    lease_token: str
    event: InboundEvent
    attempts: int
    send_state: SendState
    conversation_id: str | None
    sending_started_at: datetime | None
    lease_expires_at: datetime | None = None
    lost_lease_expired_at: datetime | None = None
    """When the event was taken from a worker whose lease ran out (it died or hung): when that lease ended. Any
    send of that worker began before then."""


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """What happened in one delivery try, as the worker reports it."""

    started_at: datetime
    finished_at: datetime
    outcome: str
    wix_status: int | None = None
    wix_code: str | None = None
    wix_message: str | None = None
    wix_request_id: str | None = None
    conversation_id: str | None = None
    message_id: str | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class AttemptRow:
    """A stored delivery try of an event."""

    id: int
    event_id: int
    started_at: datetime
    finished_at: datetime
    outcome: str
    wix_status: int | None
    wix_code: str | None
    wix_message: str | None
    wix_request_id: str | None
    conversation_id: str | None
    message_id: str | None
    detail: str | None


@dataclass(frozen=True, slots=True)
class EventRow:
    """A stored event with its delivery state and the decoded event."""

    id: int
    tenant_id: str
    source: str
    idempotency_key: str
    ordering_key: str
    customer_key: str
    kind: str
    occurred_at: datetime
    received_at: datetime
    status: EventStatus
    attempts: int
    next_attempt_at: datetime
    lease_owner: str | None
    lease_token: str | None
    lease_expires_at: datetime | None
    send_state: SendState
    sending_started_at: datetime | None
    conversation_id: str | None
    wix_message_id: str | None
    last_error: str | None
    delivered_at: datetime | None
    event: InboundEvent


@dataclass(frozen=True, slots=True)
class QuarantineRow:
    """A request that could not be turned into events, kept as received for inspection."""

    id: int
    tenant: str | None
    source: str | None
    reason: str
    method: str
    url: str
    headers: dict[str, Any]
    body: bytes
    received_at: datetime
    kind: str = "unreadable"
    hits: int = 1
    last_seen_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TenantRow:
    """A tenant as the store knows it."""

    id: str
    status: TenantStatus
    instance_id: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class CachedIds:
    """Unexpired cache entries of one tenant, each with its seconds left: contact ids by customer key,
    conversation ids by contact id."""

    contacts: dict[str, tuple[list[str], float]] = field(default_factory=dict)
    conversations: dict[str, tuple[str, float]] = field(default_factory=dict)
