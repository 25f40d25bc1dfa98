"""The environments every kind of artifact deploys to (one set per project, shared by all kinds)."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lamina.db.base import Base, IdMixin, TimestampsMixin

# The environments every project has; created on first use.
DEFAULT_ENVIRONMENTS = ("development", "staging", "production")


class Environment(IdMixin, TimestampsMixin, Base):
    __tablename__ = "environments"
    __table_args__ = (UniqueConstraint("project_id", "slug"),)

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(100))
    name: Mapped[str | None] = mapped_column(String(200))
