"""Error spans counted per project and fixed window as the worker stores them; crossing the project's threshold
stages one `tracing.errors.threshold_exceeded` event per window, in the ingest's own transaction.

The count and the once-per-window mark live in one Postgres row (`tracing_error_windows`): the upsert holds
its lock until the ingest commits, so concurrent workers count in turn and only one of them sees the crossing.
An ingest that rolls back counts nothing; a redelivery or a replay counts only spans it newly stored.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, literal_column, update
from sqlalchemy.dialects.postgresql import insert

from lamina.tracing.models import TracingErrorWindow
from lamina.tracing.project_settings import TRACING_ERROR_WINDOW, tracing_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

ERROR_SAMPLE_TRACES = 5
# Windows are only read while they are current: a day of them is plenty (the retention schedule prunes).
ERROR_WINDOW_RETENTION_WINDOWS = 288


def window_start(at: datetime) -> datetime:
    """The fixed window `at` falls in (windows are aligned on the epoch)."""
    width = int(TRACING_ERROR_WINDOW.total_seconds())
    return datetime.fromtimestamp(int(at.timestamp()) // width * width, UTC)


def count_errors(
    session: Session, project_id: uuid.UUID, errors: int, trace_ids: list[str], at: datetime | None = None
) -> uuid.UUID | None:
    """Add newly stored error spans to the project's current window; the event's id when this crossed it."""
    if errors <= 0:
        return None
    start = window_start(at or datetime.now(UTC))
    table = TracingErrorWindow.__table__
    inserting = insert(TracingErrorWindow).values(
        project_id=project_id,
        window_start=start,
        errors=errors,
        sample_trace_ids=trace_ids[:ERROR_SAMPLE_TRACES],
    )
    statement = inserting.on_conflict_do_update(
        index_elements=[TracingErrorWindow.project_id, TracingErrorWindow.window_start],
        set_={
            "errors": table.c.errors + inserting.excluded.errors,
            "sample_trace_ids": literal_column(
                f"({TracingErrorWindow.__tablename__}.sample_trace_ids || excluded.sample_trace_ids)[1:{ERROR_SAMPLE_TRACES}]"
            ),
        },
    ).returning(
        TracingErrorWindow.errors, TracingErrorWindow.sample_trace_ids, TracingErrorWindow.notified_at
    )
    total, samples, notified_at = session.execute(statement).one()
    if notified_at is not None:
        return None
    threshold = tracing_settings(session, project_id).error_threshold
    if threshold <= 0 or total < threshold:
        return None
    session.execute(
        update(TracingErrorWindow)
        .where(TracingErrorWindow.project_id == project_id, TracingErrorWindow.window_start == start)
        .values(notified_at=func.now())
    )
    from lamina.events.catalog import EventType, TraceErrorsThresholdExceeded
    from lamina.events.outbox import stage_event

    payload = TraceErrorsThresholdExceeded(
        project_id=project_id,
        window_start=start,
        window_end=start + TRACING_ERROR_WINDOW,
        errors=int(total),
        threshold=threshold,
        sample_trace_ids=list(dict.fromkeys(samples))[:ERROR_SAMPLE_TRACES],
    )
    return stage_event(session, EventType.TRACING_ERRORS_THRESHOLD_EXCEEDED, payload, project_id=project_id)


def delete_old_error_windows() -> int:
    """Forget windows long past (their events, if any, were staged when they were current)."""
    from lamina.db.unit_of_work import unit_of_work

    horizon = datetime.now(UTC) - TRACING_ERROR_WINDOW * ERROR_WINDOW_RETENTION_WINDOWS
    with unit_of_work() as session:
        result = session.execute(delete(TracingErrorWindow).where(TracingErrorWindow.window_start < horizon))
    return int(getattr(result, "rowcount", 0) or 0)
