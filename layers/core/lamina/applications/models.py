"""Registry tables. Every row carries `project_id`; every query filters by it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, synonym

from lamina.artifacts.models import DEFAULT_ENVIRONMENTS, Environment
from lamina.db.base import Base, IdMixin, TimestampsMixin, utcnow

__all__ = [
    "DEFAULT_ENVIRONMENTS",
    "Application",
    "ApplicationRevision",
    "ApplicationVariant",
    "Environment",
    "EnvironmentRevision",
]


class Application(IdMixin, TimestampsMixin, Base):
    """The artifact: a named prompt application, its variants and their revisions."""

    __tablename__ = "applications"
    __table_args__ = (UniqueConstraint("project_id", "slug"),)

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    flags: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    tags: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_by: Mapped[str | None] = mapped_column(String(100))
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApplicationVariant(IdMixin, TimestampsMixin, Base):
    __tablename__ = "application_variants"
    __table_args__ = (UniqueConstraint("application_id", "slug"),)

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    # The revisioned-artifact core's name for the column.
    artifact_id: Mapped[uuid.UUID] = synonym("application_id")
    slug: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    flags: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # Where a fork came from.
    forked_from_revision_id: Mapped[uuid.UUID | None] = mapped_column()
    created_by: Mapped[str | None] = mapped_column(String(100))
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApplicationRevision(IdMixin, Base):
    """An immutable snapshot of a variant's configuration: version n+1 on every commit, never updated."""

    __tablename__ = "application_revisions"
    __table_args__ = (
        UniqueConstraint("variant_id", "version"),
        UniqueConstraint("project_id", "slug"),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    artifact_id: Mapped[uuid.UUID] = synonym("application_id")
    # Indexed through the (variant_id, version) unique constraint.
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("application_variants.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    slug: Mapped[str] = mapped_column(String(40))
    message: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EnvironmentRevision(IdMixin, Base):
    """One deployment: `application` points at `application_revision` in `environment` from now on.

    The latest version per (environment, application) is what is deployed; older ones are the history a
    rollback redeploys from.
    """

    __tablename__ = "environment_revisions"
    # Also the index of the hot lookup: the latest version per (environment, application).
    __table_args__ = (UniqueConstraint("environment_id", "application_id", "version"),)

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    environment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"))
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    application_variant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("application_variants.id", ondelete="CASCADE")
    )
    application_revision_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("application_revisions.id", ondelete="CASCADE")
    )
    version: Mapped[int] = mapped_column(Integer)
    message: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The revisioned-artifact core's names for the columns.
    artifact_id: Mapped[uuid.UUID] = synonym("application_id")
    variant_id: Mapped[uuid.UUID] = synonym("application_variant_id")
    revision_id: Mapped[uuid.UUID] = synonym("application_revision_id")
