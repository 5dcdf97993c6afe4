"""The first schema: tenants, events, queue heads, attempts, quarantine, contact and conversation caches.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ACTIVE = "status IN ('pending', 'in_flight')"


def _partial(where: str) -> dict[str, Any]:
    return {"sqlite_where": sa.text(where), "postgresql_where": sa.text(where)}


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("instance_id", sa.String(255), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tenants"),
        sa.CheckConstraint("status IN ('active', 'stopped')", name="ck_tenants_status"),
    )
    op.create_table(
        "events",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(128), nullable=False),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("idempotency_key", sa.String(600), nullable=False),
        sa.Column("ordering_key", sa.String(600), nullable=False),
        sa.Column("customer_key", sa.String(400), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("occurred_at", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("lease_owner", sa.String(255), nullable=True),
        sa.Column("lease_token", sa.String(64), nullable=True),
        sa.Column("lease_expires_at", sa.BigInteger(), nullable=True),
        sa.Column("send_state", sa.String(16), nullable=False),
        sa.Column("sending_started_at", sa.BigInteger(), nullable=True),
        sa.Column("conversation_id", sa.String(255), nullable=True),
        sa.Column("wix_message_id", sa.String(255), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_events_tenant_id_tenants"),
        sa.UniqueConstraint(
            "tenant_id", "source", "idempotency_key", name="uq_events_tenant_id_source_idempotency_key"
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'in_flight', 'delivered', 'dead', 'parked')", name="ck_events_status"
        ),
        sa.CheckConstraint("send_state IN ('none', 'unknown')", name="ck_events_send_state"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_events_active_key", "events", ["ordering_key", "occurred_at", "id"], **_partial(_ACTIVE))
    op.create_index(
        "ix_events_in_flight_key",
        "events",
        ["ordering_key", "lease_expires_at"],
        **_partial("status = 'in_flight'"),
    )
    op.create_index("ix_events_status_id", "events", ["status", "id"])
    op.create_index("ix_events_tenant_status_id", "events", ["tenant_id", "status", "id"])
    op.create_index("ix_events_tenant_id", "events", ["tenant_id", "id"])
    op.create_index("ix_events_status_delivered_at", "events", ["status", "delivered_at"])

    op.create_table(
        "queue_heads",
        sa.Column("ordering_key", sa.String(600), nullable=False),
        sa.Column("tenant_id", sa.String(128), nullable=False),
        sa.Column("event_id", _ID, nullable=False),
        sa.Column("ready_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("ordering_key", name="pk_queue_heads"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_queue_heads_tenant_id_tenants"),
    )
    op.create_index("ix_queue_heads_tenant_ready", "queue_heads", ["tenant_id", "ready_at", "event_id"])

    op.create_table(
        "attempts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("event_id", _ID, nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("finished_at", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("wix_status", sa.Integer(), nullable=True),
        sa.Column("wix_code", sa.String(255), nullable=True),
        sa.Column("wix_message", sa.Text(), nullable=True),
        sa.Column("wix_request_id", sa.String(255), nullable=True),
        sa.Column("conversation_id", sa.String(255), nullable=True),
        sa.Column("message_id", sa.String(255), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_attempts"),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], name="fk_attempts_event_id_events"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_attempts_event_id", "attempts", ["event_id", "id"])

    op.create_table(
        "quarantine",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(128), nullable=True),
        sa.Column("source", sa.String(128), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_quarantine"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_quarantine_tenant_id", "quarantine", ["tenant_id", "id"])

    op.create_table(
        "contact_cache",
        sa.Column("tenant_id", sa.String(128), nullable=False),
        sa.Column("customer_key", sa.String(400), nullable=False),
        sa.Column("contact_ids", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "customer_key", name="pk_contact_cache"),
    )
    op.create_index("ix_contact_cache_expires_at", "contact_cache", ["expires_at"])

    op.create_table(
        "conversation_cache",
        sa.Column("tenant_id", sa.String(128), nullable=False),
        sa.Column("contact_id", sa.String(255), nullable=False),
        sa.Column("conversation_id", sa.String(255), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "contact_id", name="pk_conversation_cache"),
    )
    op.create_index("ix_conversation_cache_conversation", "conversation_cache", ["tenant_id", "conversation_id"])
    op.create_index("ix_conversation_cache_expires_at", "conversation_cache", ["expires_at"])


def downgrade() -> None:
    for table in ("conversation_cache", "contact_cache", "quarantine", "attempts", "queue_heads", "events"):
        op.drop_table(table)
    op.drop_table("tenants")
