"""Evaluation runs, their scenarios, one result per (scenario, step, repeat), and aggregated metrics."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lamina.db.base import Base, IdMixin, TimestampsMixin


class EvaluationRun(IdMixin, TimestampsMixin, Base):
    """A run: its resolved steps in `data`, its lifecycle in `status` and `flags`."""

    __tablename__ = "evaluation_runs"
    __table_args__ = (
        Index("ix_evaluation_runs_project_created", "project_id", "created_at"),
        # A trigger's delivery creates at most one run (the triggers worker may deliver twice).
        UniqueConstraint("project_id", "delivery_id"),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    flags: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    tags: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    repeats: Mapped[int] = mapped_column(Integer, default=1)
    concurrency: Mapped[int] = mapped_column(Integer, default=1)
    delivery_id: Mapped[uuid.UUID | None] = mapped_column()
    created_by_id: Mapped[uuid.UUID | None] = mapped_column()
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EvaluationScenario(IdMixin, TimestampsMixin, Base):
    """One test case run through one application revision (all repeats, every evaluator)."""

    __tablename__ = "evaluation_scenarios"
    __table_args__ = (
        Index("ix_evaluation_scenarios_run_status", "run_id", "status"),
        # The watchdog's scan: running scenarios by deadline.
        Index("ix_evaluation_scenarios_deadline", "deadline_at", postgresql_where="status = 'running'"),
    )

    project_id: Mapped[uuid.UUID] = mapped_column()
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evaluation_runs.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20))
    testcase_id: Mapped[uuid.UUID | None] = mapped_column()
    application_revision_id: Mapped[uuid.UUID | None] = mapped_column()
    inputs: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    deadline_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    flags: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    tags: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class EvaluationResult(IdMixin, TimestampsMixin, Base):
    """What one step (the application, an evaluator, a human) produced for one scenario and repeat."""

    __tablename__ = "evaluation_results"
    __table_args__ = (
        # Idempotent writes: a scenario re-run after a crash upserts the same cell.
        UniqueConstraint("scenario_id", "step_key", "repeat_idx"),
        Index("ix_evaluation_results_run", "run_id"),
    )

    project_id: Mapped[uuid.UUID] = mapped_column()
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evaluation_runs.id", ondelete="CASCADE"))
    scenario_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evaluation_scenarios.id", ondelete="CASCADE"))
    step_key: Mapped[str] = mapped_column(String(200))
    repeat_idx: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20))
    testcase_id: Mapped[uuid.UUID | None] = mapped_column()
    trace_id: Mapped[str | None] = mapped_column(String(64))
    outputs: Mapped[Any] = mapped_column(JSONB, nullable=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    flags: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    tags: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class EvaluationMetrics(IdMixin, TimestampsMixin, Base):
    """Aggregates of a run (scenario_id NULL) or of one scenario, recomputed from the results."""

    __tablename__ = "evaluation_metrics"
    __table_args__ = (Index("ix_evaluation_metrics_run", "run_id", "scenario_id"),)

    project_id: Mapped[uuid.UUID] = mapped_column()
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evaluation_runs.id", ondelete="CASCADE"))
    scenario_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("evaluation_scenarios.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(20))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
