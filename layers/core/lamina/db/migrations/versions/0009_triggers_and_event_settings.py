"""triggers: schedules, event subscriptions, the delivery log; event_settings (per-project event retention)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 19:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _header_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("tags", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("meta", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.String(length=200), nullable=True),
        sa.Column("updated_by_id", sa.String(length=200), nullable=True),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "event_settings",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_event_settings")),
    )
    op.create_table(
        "trigger_schedules",
        *_header_columns(),
        sa.Column("cron", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=100), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_tick_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_tick_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trigger_schedules")),
    )
    op.create_index("ix_trigger_schedules_project_id", "trigger_schedules", ["project_id"])
    op.create_index("ix_trigger_schedules_next_tick_at", "trigger_schedules", ["next_tick_at"])
    op.create_table(
        "trigger_subscriptions",
        *_header_columns(),
        sa.Column("event_key", sa.String(length=200), nullable=False),
        sa.Column("is_test", sa.Boolean(), nullable=False),
        sa.Column("connection_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trigger_subscriptions")),
    )
    op.create_index("ix_trigger_subscriptions_project_id", "trigger_subscriptions", ["project_id"])
    op.create_table(
        "trigger_deliveries",
        # Derived from (trigger, tick) or (trigger, event id): the primary key is what runs each once.
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=True),
        sa.Column("schedule_id", sa.Uuid(), nullable=True),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_code", sa.String(length=20), nullable=True),
        sa.Column("status_message", sa.Text(), nullable=True),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trigger_deliveries")),
        # Exactly one trigger: a schedule's tick or a subscription's event.
        sa.CheckConstraint(
            "(subscription_id IS NULL) <> (schedule_id IS NULL)",
            name=op.f("ck_trigger_deliveries_one_trigger"),
        ),
    )
    op.create_index(
        "ix_trigger_deliveries_project_id_created_at", "trigger_deliveries", ["project_id", "created_at"]
    )
    op.create_index("ix_trigger_deliveries_subscription_id", "trigger_deliveries", ["subscription_id"])
    op.create_index("ix_trigger_deliveries_schedule_id", "trigger_deliveries", ["schedule_id"])


def downgrade() -> None:
    op.drop_table("trigger_deliveries")
    op.drop_table("trigger_subscriptions")
    op.drop_table("trigger_schedules")
    op.drop_table("event_settings")
