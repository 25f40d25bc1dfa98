"""spans: one row per OpenTelemetry span, keyed by (project_id, trace_id, span_id); tracing_settings

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 17:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "spans",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("trace_id", sa.String(length=32), nullable=False),
        sa.Column("span_id", sa.String(length=16), nullable=False),
        sa.Column("parent_id", sa.String(length=16), nullable=True),
        sa.Column("trace_type", sa.String(length=20), nullable=False),
        sa.Column("span_type", sa.String(length=20), nullable=False),
        sa.Column("span_kind", sa.String(length=30), nullable=False),
        sa.Column("span_name", sa.Text(), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("status_code", sa.String(length=30), nullable=False),
        sa.Column("status_message", sa.Text(), nullable=True),
        sa.Column("session_id", sa.Text(), nullable=True),
        sa.Column("user_id", sa.Text(), nullable=True),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("prompt_tokens", sa.BigInteger(), nullable=True),
        sa.Column("completion_tokens", sa.BigInteger(), nullable=True),
        sa.Column("total_tokens", sa.BigInteger(), nullable=True),
        sa.Column("cost", sa.Float(), nullable=True),
        sa.Column("inputs", postgresql.JSONB(), nullable=True),
        sa.Column("outputs", postgresql.JSONB(), nullable=True),
        sa.Column("attributes", postgresql.JSONB(), nullable=False),
        sa.Column("resource", postgresql.JSONB(), nullable=False),
        sa.Column("events", postgresql.JSONB(), nullable=False),
        sa.Column("links", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "trace_id", "span_id", name=op.f("pk_spans")),
    )
    op.create_index(
        "ix_spans_project_start", "spans", ["project_id", sa.text("start_time DESC"), "span_id"], unique=False
    )
    op.create_index(
        "ix_spans_project_session",
        "spans",
        ["project_id", "session_id"],
        postgresql_where=sa.text("session_id IS NOT NULL"),
    )
    op.create_index(
        "ix_spans_project_user",
        "spans",
        ["project_id", "user_id"],
        postgresql_where=sa.text("user_id IS NOT NULL"),
    )
    op.create_index("ix_spans_project_name", "spans", ["project_id", "span_name"])
    op.create_index(
        "ix_spans_attributes",
        "spans",
        ["attributes"],
        postgresql_using="gin",
        postgresql_ops={"attributes": "jsonb_path_ops"},
    )
    op.create_table(
        "tracing_settings",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_tracing_settings")),
    )


def downgrade() -> None:
    op.drop_table("tracing_settings")
    op.drop_table("spans")
