"""Seen tokens (replay protection for signed requests that carry a nonce) and kept requests grouped by body.

The quarantine keeps one row per distinct request body (its SHA-256, how many times it arrived and when last),
and a ``kind`` that says why it is kept: ``unreadable`` (400), ``refused`` (401, bad signature) or ``skipped``
(signed and valid, but nothing to post, e.g. no customer address).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "seen_tokens",
        sa.Column("scope", sa.String(255), nullable=False),
        sa.Column("token", sa.String(255), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "token", name="pk_seen_tokens"),
    )
    op.create_index("ix_seen_tokens_expires_at", "seen_tokens", ["expires_at"])
    op.add_column("quarantine", sa.Column("kind", sa.String(16), nullable=False, server_default="unreadable"))
    op.add_column("quarantine", sa.Column("body_sha256", sa.String(64), nullable=True))
    op.add_column("quarantine", sa.Column("hits", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("quarantine", sa.Column("last_seen_at", sa.BigInteger(), nullable=True))
    op.create_index("ix_quarantine_body_sha256", "quarantine", ["body_sha256"])
    op.create_index("ix_quarantine_received_at", "quarantine", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_quarantine_received_at", "quarantine")
    op.drop_index("ix_quarantine_body_sha256", "quarantine")
    with op.batch_alter_table("quarantine") as batch:
        batch.drop_column("last_seen_at")
        batch.drop_column("hits")
        batch.drop_column("body_sha256")
        batch.drop_column("kind")
    op.drop_index("ix_seen_tokens_expires_at", "seen_tokens")
    op.drop_table("seen_tokens")
