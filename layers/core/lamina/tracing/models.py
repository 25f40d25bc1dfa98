"""The `spans` table: one row per OpenTelemetry span, keyed by (project_id, trace_id, span_id)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Float, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lamina.db.base import Base

# The columns the worker writes, in COPY order (`created_at` takes its server default).
SPAN_COLUMNS = (
    "project_id",
    "trace_id",
    "span_id",
    "parent_id",
    "trace_type",
    "span_type",
    "span_kind",
    "span_name",
    "start_time",
    "end_time",
    "duration_ms",
    "status_code",
    "status_message",
    "session_id",
    "user_id",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cost",
    "inputs",
    "outputs",
    "attributes",
    "resource",
    "events",
    "links",
)


class Span(Base):
    """A span as stored: OTLP's fields, plus what the worker normalised out of its attributes."""

    __tablename__ = "spans"
    __table_args__ = (
        Index("ix_spans_project_start", "project_id", text("start_time DESC"), "span_id"),
        Index(
            "ix_spans_project_session",
            "project_id",
            "session_id",
            postgresql_where=text("session_id IS NOT NULL"),
        ),
        Index("ix_spans_project_user", "project_id", "user_id", postgresql_where=text("user_id IS NOT NULL")),
        Index("ix_spans_project_name", "project_id", "span_name"),
        Index(
            "ix_spans_attributes",
            "attributes",
            postgresql_using="gin",
            postgresql_ops={"attributes": "jsonb_path_ops"},
        ),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # Lower-case hex, as OTLP/JSON and every UI spell them (32 and 16 characters).
    trace_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    span_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    parent_id: Mapped[str | None] = mapped_column(String(16))
    trace_type: Mapped[str] = mapped_column(String(20))
    span_type: Mapped[str] = mapped_column(String(20))
    span_kind: Mapped[str] = mapped_column(String(30))
    span_name: Mapped[str] = mapped_column(Text)
    start_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    end_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[float] = mapped_column(Float)
    status_code: Mapped[str] = mapped_column(String(30))
    status_message: Mapped[str | None] = mapped_column(Text)
    session_id: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(Text)
    prompt_tokens: Mapped[int | None] = mapped_column(BigInteger)
    completion_tokens: Mapped[int | None] = mapped_column(BigInteger)
    total_tokens: Mapped[int | None] = mapped_column(BigInteger)
    cost: Mapped[float | None] = mapped_column(Float)
    inputs: Mapped[Any] = mapped_column(JSONB)
    outputs: Mapped[Any] = mapped_column(JSONB)
    # Nested (dotted keys unflattened), as Agenta returns them: `{"ag": {"data": {"inputs": ...}}}`.
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB)
    resource: Mapped[dict[str, Any]] = mapped_column(JSONB)
    events: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    links: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TracingSettings(Base):
    """A project's tracing settings; NULL (or no row) is the default (`lamina.tracing.settings`)."""

    __tablename__ = "tracing_settings"

    project_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    retention_days: Mapped[int | None] = mapped_column(Integer)
    # Error spans per TRACING_ERROR_WINDOW that raise `tracing.errors.threshold_exceeded`; 0 turns it off.
    error_threshold: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TracingErrorWindow(Base):
    """Error spans a project's ingests stored in one fixed window; `notified_at` makes its event happen once."""

    __tablename__ = "tracing_error_windows"

    project_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    errors: Mapped[int] = mapped_column(Integer)
    sample_trace_ids: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
