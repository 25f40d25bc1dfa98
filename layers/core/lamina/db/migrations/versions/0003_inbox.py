"""inbox: the envelopes each queue's worker claimed or completed; outbox rows name their queue

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 16:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("queue", sa.String(length=100), nullable=False),
        sa.Column("envelope_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("claim_token", sa.Uuid(), nullable=False),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("queue", "envelope_id", name=op.f("pk_inbox")),
    )
    op.create_index("ix_inbox_claimed_at", "inbox", ["claimed_at"], unique=False)
    op.add_column(
        "event_outbox",
        sa.Column("queue", sa.String(length=100), server_default="events", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("event_outbox", "queue")
    op.drop_index("ix_inbox_claimed_at", table_name="inbox")
    op.drop_table("inbox")
