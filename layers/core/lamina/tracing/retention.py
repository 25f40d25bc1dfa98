"""Span retention: spans older than their project's retention period (`project_settings`) are deleted, in
bounded batches."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy import text

from lamina.tracing.project_settings import (
    TRACING_DEFAULT_RETENTION_DAYS,
    TRACING_MAX_RETENTION_DAYS,
    TRACING_MIN_RETENTION_DAYS,
    update_tracing_settings,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# Rows per DELETE, and batches per run: one run never holds locks or WAL for long; the next run continues.
SPAN_RETENTION_BATCH_ROWS = 10_000
SPAN_RETENTION_MAX_BATCHES = 50
DELETE_EXPIRED_BATCH = text(
    """
    DELETE FROM spans WHERE ctid IN (
        SELECT s.ctid FROM spans s LEFT JOIN tracing_settings t ON t.project_id = s.project_id
        WHERE s.start_time < now() - make_interval(days => coalesce(t.retention_days, :default_days))
        LIMIT :batch
    )
    """
)


def set_retention(session: Session, project_id: uuid.UUID, days: int) -> None:
    """Keep the project's spans `days` days (at least TRACING_MIN_RETENTION_DAYS)."""
    days = min(max(int(days), TRACING_MIN_RETENTION_DAYS), TRACING_MAX_RETENTION_DAYS)
    update_tracing_settings(session, project_id, retention_days=days)


def delete_expired_spans() -> int:
    """Delete spans past their project's retention; how many (a batch per transaction)."""
    from lamina.db.unit_of_work import unit_of_work

    deleted = 0
    for _ in range(SPAN_RETENTION_MAX_BATCHES):
        with unit_of_work() as session:
            result = session.execute(
                DELETE_EXPIRED_BATCH,
                {"default_days": TRACING_DEFAULT_RETENTION_DAYS, "batch": SPAN_RETENTION_BATCH_ROWS},
            )
        count = int(getattr(result, "rowcount", 0) or 0)
        deleted += count
        if count < SPAN_RETENTION_BATCH_ROWS:
            break
    return deleted
