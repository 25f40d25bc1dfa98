"""Test set tables. A revision's `data` lists its test cases' ids (`testcase_ids`, in order); the cases
themselves are immutable rows of `testcases`, shared by the revisions that keep them unchanged."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, synonym

from lamina.db.base import Base, IdMixin, TimestampsMixin, utcnow


class Testset(IdMixin, TimestampsMixin, Base):
    __test__ = False  # a table, not a pytest test class
    __tablename__ = "testsets"
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


class TestsetVariant(IdMixin, TimestampsMixin, Base):
    __test__ = False  # a table, not a pytest test class
    __tablename__ = "testset_variants"
    __table_args__ = (UniqueConstraint("testset_id", "slug"),)

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    testset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("testsets.id", ondelete="CASCADE"), index=True)
    artifact_id: Mapped[uuid.UUID] = synonym("testset_id")
    slug: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    flags: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    forked_from_revision_id: Mapped[uuid.UUID | None] = mapped_column()
    created_by: Mapped[str | None] = mapped_column(String(100))
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TestsetRevision(IdMixin, Base):
    """Immutable: `data` is `{"testcase_ids": [...]}`, the cases in their order."""

    __test__ = False  # a table, not a pytest test class
    __tablename__ = "testset_revisions"
    __table_args__ = (UniqueConstraint("variant_id", "version"), UniqueConstraint("project_id", "slug"))

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    testset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("testsets.id", ondelete="CASCADE"), index=True)
    artifact_id: Mapped[uuid.UUID] = synonym("testset_id")
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("testset_variants.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    slug: Mapped[str] = mapped_column(String(40))
    message: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TestsetDeployment(IdMixin, Base):
    """A test set revision deployed to an environment (the core's environment revision for this kind)."""

    __test__ = False  # a table, not a pytest test class
    __tablename__ = "testset_deployments"
    __table_args__ = (UniqueConstraint("environment_id", "testset_id", "version"),)

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    environment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"))
    testset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("testsets.id", ondelete="CASCADE"))
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("testset_variants.id", ondelete="CASCADE"))
    revision_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("testset_revisions.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    message: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    artifact_id: Mapped[uuid.UUID] = synonym("testset_id")


class TestcaseRow(Base):
    """One test case: immutable once written (an edit writes a new row), bulk-inserted."""

    __tablename__ = "testcases"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    testset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("testsets.id", ondelete="CASCADE"), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
