"""tracing_settings: retention_days optional, error_threshold; tracing_error_windows (error-threshold events)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 19:55:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL now means "the default": a project can set one setting without pinning the other.
    op.alter_column("tracing_settings", "retention_days", existing_type=sa.Integer(), nullable=True)
    op.add_column("tracing_settings", sa.Column("error_threshold", sa.Integer(), nullable=True))
    op.create_table(
        "tracing_error_windows",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("sample_trace_ids", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("project_id", "window_start", name=op.f("pk_tracing_error_windows")),
    )


def downgrade() -> None:
    op.drop_table("tracing_error_windows")
    op.drop_column("tracing_settings", "error_threshold")
    op.execute("UPDATE tracing_settings SET retention_days = 30 WHERE retention_days IS NULL")
    op.alter_column("tracing_settings", "retention_days", existing_type=sa.Integer(), nullable=False)
