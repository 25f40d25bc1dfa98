"""Evaluator tables: an evaluator is a revisioned configuration of a built-in kind."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, synonym

from lamina.artifacts.models import ArtifactColumns, DeploymentColumns, RevisionColumns, VariantColumns
from lamina.db.base import Base, IdMixin, TimestampsMixin


class Evaluator(IdMixin, TimestampsMixin, ArtifactColumns, Base):
    __tablename__ = "evaluators"
    __table_args__ = (UniqueConstraint("project_id", "slug"),)


class EvaluatorVariant(IdMixin, TimestampsMixin, VariantColumns, Base):
    __tablename__ = "evaluator_variants"
    __table_args__ = (UniqueConstraint("evaluator_id", "slug"),)

    evaluator_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("evaluators.id", ondelete="CASCADE"), index=True
    )
    artifact_id: Mapped[uuid.UUID] = synonym("evaluator_id")


class EvaluatorRevisionRow(IdMixin, RevisionColumns, Base):
    """Immutable: `data` is Agenta's workflow revision data (`uri` names the built-in kind, `parameters` its settings)."""

    __tablename__ = "evaluator_revisions"
    __table_args__ = (UniqueConstraint("variant_id", "version"), UniqueConstraint("project_id", "slug"))

    evaluator_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("evaluators.id", ondelete="CASCADE"), index=True
    )
    artifact_id: Mapped[uuid.UUID] = synonym("evaluator_id")
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evaluator_variants.id", ondelete="CASCADE"))


class EvaluatorDeployment(IdMixin, DeploymentColumns, Base):
    """An evaluator revision deployed to an environment (the core's environment revision for this kind)."""

    __tablename__ = "evaluator_deployments"
    __table_args__ = (UniqueConstraint("environment_id", "evaluator_id", "version"),)

    evaluator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evaluators.id", ondelete="CASCADE"))
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evaluator_variants.id", ondelete="CASCADE"))
    revision_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evaluator_revisions.id", ondelete="CASCADE"))
    artifact_id: Mapped[uuid.UUID] = synonym("evaluator_id")
