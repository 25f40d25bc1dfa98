"""trigger subscriptions: is_valid, the axis `revoke` and `refresh` drive (apart from start/stop's is_active)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 01:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "trigger_subscriptions", sa.Column("is_valid", sa.Boolean(), server_default=sa.true(), nullable=False)
    )


def downgrade() -> None:
    op.drop_column("trigger_subscriptions", "is_valid")
