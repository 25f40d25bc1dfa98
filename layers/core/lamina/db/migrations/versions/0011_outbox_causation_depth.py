"""event outbox: the causation depth each staged envelope carries (the trigger loop guard)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 22:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "event_outbox", sa.Column("causation_depth", sa.Integer(), server_default="0", nullable=False)
    )


def downgrade() -> None:
    op.drop_column("event_outbox", "causation_depth")
