"""Evaluator tables: an evaluator is a revisioned configuration of a built-in kind."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, synonym

from lamina.db.base import Base, IdMixin, TimestampsMixin, utcnow


class Evaluator(IdMixin, TimestampsMixin, Base):
    __tablename__ = "evaluators"
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


class EvaluatorVariant(IdMixin, TimestampsMixin, Base):
    __tablename__ = "evaluator_variants"
    __table_args__ = (UniqueConstraint("evaluator_id", "slug"),)

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    evaluator_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("evaluators.id", ondelete="CASCADE"), index=True
    )
    artifact_id: Mapped[uuid.UUID] = synonym("evaluator_id")
    slug: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    flags: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    forked_from_revision_id: Mapped[uuid.UUID | None] = mapped_column()
    created_by: Mapped[str | None] = mapped_column(String(100))
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EvaluatorRevisionRow(IdMixin, Base):
    """Immutable: `data` is Agenta's workflow revision data (`uri` names the built-in kind, `parameters` its settings)."""

    __tablename__ = "evaluator_revisions"
    __table_args__ = (UniqueConstraint("variant_id", "version"), UniqueConstraint("project_id", "slug"))

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    evaluator_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("evaluators.id", ondelete="CASCADE"), index=True
    )
    artifact_id: Mapped[uuid.UUID] = synonym("evaluator_id")
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evaluator_variants.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    slug: Mapped[str] = mapped_column(String(40))
    message: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EvaluatorDeployment(IdMixin, Base):
    """An evaluator revision deployed to an environment (the core's environment revision for this kind)."""

    __tablename__ = "evaluator_deployments"
    __table_args__ = (UniqueConstraint("environment_id", "evaluator_id", "version"),)

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    environment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"))
    evaluator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evaluators.id", ondelete="CASCADE"))
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evaluator_variants.id", ondelete="CASCADE"))
    revision_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evaluator_revisions.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    message: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    artifact_id: Mapped[uuid.UUID] = synonym("evaluator_id")
