"""Test set tables. A revision's `data` lists its test cases' ids (`testcase_ids`, in order); the cases
themselves are immutable rows of `testcases`, shared by the revisions that keep them unchanged."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, synonym

from lamina.artifacts.models import ArtifactColumns, DeploymentColumns, RevisionColumns, VariantColumns
from lamina.db.base import Base, IdMixin, TimestampsMixin


class Testset(IdMixin, TimestampsMixin, ArtifactColumns, Base):
    __test__ = False  # a table, not a pytest test class
    __tablename__ = "testsets"
    __table_args__ = (UniqueConstraint("project_id", "slug"),)


class TestsetVariant(IdMixin, TimestampsMixin, VariantColumns, Base):
    __test__ = False  # a table, not a pytest test class
    __tablename__ = "testset_variants"
    __table_args__ = (UniqueConstraint("testset_id", "slug"),)

    testset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("testsets.id", ondelete="CASCADE"), index=True)
    artifact_id: Mapped[uuid.UUID] = synonym("testset_id")


class TestsetRevision(IdMixin, RevisionColumns, Base):
    """Immutable: `data` is `{"testcase_ids": [...]}`, the cases in their order."""

    __test__ = False  # a table, not a pytest test class
    __tablename__ = "testset_revisions"
    __table_args__ = (UniqueConstraint("variant_id", "version"), UniqueConstraint("project_id", "slug"))

    testset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("testsets.id", ondelete="CASCADE"), index=True)
    artifact_id: Mapped[uuid.UUID] = synonym("testset_id")
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("testset_variants.id", ondelete="CASCADE"))


class TestsetDeployment(IdMixin, DeploymentColumns, Base):
    """A test set revision deployed to an environment (the core's environment revision for this kind)."""

    __test__ = False  # a table, not a pytest test class
    __tablename__ = "testset_deployments"
    __table_args__ = (UniqueConstraint("environment_id", "testset_id", "version"),)

    testset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("testsets.id", ondelete="CASCADE"))
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("testset_variants.id", ondelete="CASCADE"))
    revision_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("testset_revisions.id", ondelete="CASCADE"))
    artifact_id: Mapped[uuid.UUID] = synonym("testset_id")


class TestcaseRow(Base):
    """One test case: immutable once written (an edit writes a new row), bulk-inserted."""

    __tablename__ = "testcases"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    testset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("testsets.id", ondelete="CASCADE"), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
