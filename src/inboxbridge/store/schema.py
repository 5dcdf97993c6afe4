"""The tables, in one place: the migrations build exactly this (a test compares them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    literal_column,
    text,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from inboxbridge.store.timestamps import UtcMicros

__all__ = [
    "ACTIVE_STATUSES",
    "attempts",
    "contact_cache",
    "conversation_cache",
    "events",
    "is_active",
    "is_status",
    "metadata",
    "quarantine",
    "queue_heads",
    "rate_buckets",
    "seen_tokens",
    "tenants",
]

# Constraint names are fixed so that later migrations (batch mode on SQLite) can address them.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only makes an INTEGER PRIMARY KEY the rowid; elsewhere ids are 64-bit.
Id = BigInteger().with_variant(Integer(), "sqlite")

# Events that still need delivering: they decide the heads of their ordering keys.
ACTIVE_STATUSES = ("pending", "in_flight")
_ACTIVE = text("status IN ('pending', 'in_flight')")
_IN_FLIGHT = text("status = 'in_flight'")


def is_status(table: FromClause, status: str) -> ColumnElement[bool]:
    """``status = '<status>'`` with the value written inline, so SQLite can match it to a partial index."""
    return table.c.status == literal_column(f"'{status}'")


def is_active(table: FromClause) -> ColumnElement[bool]:
    """``status IN ('pending', 'in_flight')`` written inline, to match the partial indexes on it."""
    return table.c.status.in_([literal_column(f"'{status}'") for status in ACTIVE_STATUSES])


def _partial(where: object) -> dict[str, Any]:
    return {"sqlite_where": where, "postgresql_where": where}


tenants = Table(
    "tenants",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("instance_id", String(255), nullable=True),
    Column("created_at", UtcMicros(), nullable=False),
    Column("updated_at", UtcMicros(), nullable=False),
    CheckConstraint("status IN ('active', 'stopped')", name="status"),
)

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", String(128), ForeignKey("tenants.id"), nullable=False),
    Column("source", String(128), nullable=False),
    Column("idempotency_key", String(600), nullable=False),
    Column("ordering_key", String(600), nullable=False),
    Column("customer_key", String(400), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("occurred_at", UtcMicros(), nullable=False),
    Column("received_at", UtcMicros(), nullable=False),
    Column("payload", Text(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer(), nullable=False),
    Column("next_attempt_at", UtcMicros(), nullable=False),
    Column("lease_owner", String(255), nullable=True),
    Column("lease_token", String(64), nullable=True),
    Column("lease_expires_at", UtcMicros(), nullable=True),
    Column("send_state", String(16), nullable=False),
    Column("sending_started_at", UtcMicros(), nullable=True),
    Column("conversation_id", String(255), nullable=True),
    Column("wix_message_id", String(255), nullable=True),
    Column("last_error", Text(), nullable=True),
    Column("delivered_at", UtcMicros(), nullable=True),
    UniqueConstraint("tenant_id", "source", "idempotency_key"),
    CheckConstraint("status IN ('pending', 'in_flight', 'delivered', 'dead', 'parked')", name="status"),
    CheckConstraint("send_state IN ('none', 'unknown')", name="send_state"),
    sqlite_autoincrement=True,
)
# The head of an ordering key: its oldest undelivered event.
Index("ix_events_active_key", events.c.ordering_key, events.c.occurred_at, events.c.id, **_partial(_ACTIVE))
# Whether any event of a key holds a lease, and until when.
Index("ix_events_in_flight_key", events.c.ordering_key, events.c.lease_expires_at, **_partial(_IN_FLIGHT))
# Listing newest first, counting, the backlog's oldest event, by status and/or tenant; bulk status changes.
Index("ix_events_status_id", events.c.status, events.c.id)
Index("ix_events_tenant_status_id", events.c.tenant_id, events.c.status, events.c.id)
Index("ix_events_tenant_id", events.c.tenant_id, events.c.id)
# Pruning old deliveries.
Index("ix_events_status_delivered_at", events.c.status, events.c.delivered_at)

# One row per ordering key with undelivered events: which event is its head and from when it may be claimed
# (the head's next try, or the end of any live lease in the key). Kept in step with `events` in every
# transaction that changes them, so a claim reads a few index entries instead of searching the backlog.
# Derived data: `event_id` has no foreign key, which would make every deletion of an event search this table.
queue_heads = Table(
    "queue_heads",
    metadata,
    Column("ordering_key", String(600), primary_key=True),
    Column("tenant_id", String(128), ForeignKey("tenants.id"), nullable=False),
    Column("event_id", Id, nullable=False),
    Column("ready_at", UtcMicros(), nullable=False),
)
Index("ix_queue_heads_tenant_ready", queue_heads.c.tenant_id, queue_heads.c.ready_at, queue_heads.c.event_id)

attempts = Table(
    "attempts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", Id, ForeignKey("events.id"), nullable=False),
    Column("started_at", UtcMicros(), nullable=False),
    Column("finished_at", UtcMicros(), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("wix_status", Integer(), nullable=True),
    Column("wix_code", String(255), nullable=True),
    Column("wix_message", Text(), nullable=True),
    Column("wix_request_id", String(255), nullable=True),
    Column("conversation_id", String(255), nullable=True),
    Column("message_id", String(255), nullable=True),
    Column("detail", Text(), nullable=True),
    sqlite_autoincrement=True,
)
Index("ix_attempts_event_id", attempts.c.event_id, attempts.c.id)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", String(128), nullable=True),
    Column("source", String(128), nullable=True),
    Column("reason", Text(), nullable=False),
    Column("method", String(16), nullable=False),
    Column("url", Text(), nullable=False),
    Column("headers", Text(), nullable=False),
    Column("body", LargeBinary(), nullable=False),
    Column("received_at", UtcMicros(), nullable=False),
    # Why the request is kept: 'unreadable' (answered 400), 'refused' (401) or 'skipped' (valid, nothing to post).
    Column("kind", String(16), nullable=False, server_default="unreadable"),
    # One row per distinct body: a provider retrying the same request bumps `hits` and `last_seen_at`.
    Column("body_sha256", String(64), nullable=True),
    Column("hits", Integer(), nullable=False, server_default="1"),
    Column("last_seen_at", UtcMicros(), nullable=True),
    sqlite_autoincrement=True,
)
Index("ix_quarantine_tenant_id", quarantine.c.tenant_id, quarantine.c.id)
Index("ix_quarantine_body_sha256", quarantine.c.body_sha256)
Index("ix_quarantine_received_at", quarantine.c.received_at)

# Nonces of signed requests already accepted (a Mailgun token, a Wix event id), kept until the signature's
# freshness window has passed, so a captured request cannot be replayed inside it.
seen_tokens = Table(
    "seen_tokens",
    metadata,
    Column("scope", String(255), primary_key=True),
    Column("token", String(255), primary_key=True),
    Column("expires_at", UtcMicros(), nullable=False),
)
Index("ix_seen_tokens_expires_at", seen_tokens.c.expires_at)

contact_cache = Table(
    "contact_cache",
    metadata,
    Column("tenant_id", String(128), primary_key=True),
    Column("customer_key", String(400), primary_key=True),
    Column("contact_ids", Text(), nullable=False),
    Column("expires_at", UtcMicros(), nullable=False),
)
Index("ix_contact_cache_expires_at", contact_cache.c.expires_at)

conversation_cache = Table(
    "conversation_cache",
    metadata,
    Column("tenant_id", String(128), primary_key=True),
    Column("contact_id", String(255), primary_key=True),
    Column("conversation_id", String(255), nullable=False),
    Column("expires_at", UtcMicros(), nullable=False),
)
Index("ix_conversation_cache_conversation", conversation_cache.c.tenant_id, conversation_cache.c.conversation_id)
Index("ix_conversation_cache_expires_at", conversation_cache.c.expires_at)

# The Wix rate limit of a site shared by every node (PostgreSQL): a token bucket, refilled on each reservation.
# ``tokens`` goes below zero while reservations wait for their turn.
rate_buckets = Table(
    "rate_buckets",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("tokens", Double(), nullable=False),
    Column("refilled_at", UtcMicros(), nullable=False),
)
