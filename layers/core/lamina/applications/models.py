"""Registry tables. Every row carries `project_id`; every query filters by it."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, synonym

from lamina.artifacts.models import (
    DEFAULT_ENVIRONMENTS,
    ArtifactColumns,
    DeploymentColumns,
    Environment,
    RevisionColumns,
    VariantColumns,
)
from lamina.db.base import Base, IdMixin, TimestampsMixin

__all__ = [
    "DEFAULT_ENVIRONMENTS",
    "Application",
    "ApplicationRevision",
    "ApplicationVariant",
    "Environment",
    "EnvironmentRevision",
]


class Application(IdMixin, TimestampsMixin, ArtifactColumns, Base):
    """The artifact: a named prompt application, its variants and their revisions."""

    __tablename__ = "applications"
    __table_args__ = (UniqueConstraint("project_id", "slug"),)


class ApplicationVariant(IdMixin, TimestampsMixin, VariantColumns, Base):
    __tablename__ = "application_variants"
    __table_args__ = (UniqueConstraint("application_id", "slug"),)

    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    # The revisioned-artifact core's name for the column.
    artifact_id: Mapped[uuid.UUID] = synonym("application_id")


class ApplicationRevision(IdMixin, RevisionColumns, Base):
    """An immutable snapshot of a variant's configuration: version n+1 on every commit, never updated."""

    __tablename__ = "application_revisions"
    __table_args__ = (
        UniqueConstraint("variant_id", "version"),
        UniqueConstraint("project_id", "slug"),
    )

    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    artifact_id: Mapped[uuid.UUID] = synonym("application_id")
    # Indexed through the (variant_id, version) unique constraint.
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("application_variants.id", ondelete="CASCADE"))


class EnvironmentRevision(IdMixin, DeploymentColumns, Base):
    """One deployment: `application` points at `application_revision` in `environment` from now on.

    The latest version per (environment, application) is what is deployed; older ones are the history a
    rollback redeploys from.
    """

    __tablename__ = "environment_revisions"
    # Also the index of the hot lookup: the latest version per (environment, application).
    __table_args__ = (UniqueConstraint("environment_id", "application_id", "version"),)

    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    application_variant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("application_variants.id", ondelete="CASCADE")
    )
    application_revision_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("application_revisions.id", ondelete="CASCADE")
    )
    # The revisioned-artifact core's names for the columns.
    artifact_id: Mapped[uuid.UUID] = synonym("application_id")
    variant_id: Mapped[uuid.UUID] = synonym("application_variant_id")
    revision_id: Mapped[uuid.UUID] = synonym("application_revision_id")
