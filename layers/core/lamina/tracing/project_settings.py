"""A project's tracing settings: how long its spans are kept, and when its errors raise an event."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert

from lamina.tracing.models import TracingSettings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

TRACING_DEFAULT_RETENTION_DAYS = 30
TRACING_MIN_RETENTION_DAYS = 1
TRACING_MAX_RETENTION_DAYS = 3650
# Error spans stored within one window that raise `tracing.errors.threshold_exceeded` (once per window).
TRACING_DEFAULT_ERROR_THRESHOLD = 50
TRACING_ERROR_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True)
class ProjectTracingSettings:
    retention_days: int
    error_threshold: int
    retention_is_default: bool
    error_threshold_is_default: bool


def tracing_settings(session: Session, project_id: uuid.UUID) -> ProjectTracingSettings:
    """The project's settings, defaults filled in."""
    row = session.execute(
        select(TracingSettings.retention_days, TracingSettings.error_threshold).where(
            TracingSettings.project_id == project_id
        )
    ).first()
    retention, threshold = (row[0], row[1]) if row is not None else (None, None)
    return ProjectTracingSettings(
        retention_days=TRACING_DEFAULT_RETENTION_DAYS if retention is None else int(retention),
        error_threshold=TRACING_DEFAULT_ERROR_THRESHOLD if threshold is None else int(threshold),
        retention_is_default=retention is None,
        error_threshold_is_default=threshold is None,
    )


def update_tracing_settings(session: Session, project_id: uuid.UUID, **changes: int | None) -> None:
    """Set the given settings (`retention_days`, `error_threshold`); None puts one back to its default."""
    values: dict[str, Any] = {
        name: changes[name] for name in ("retention_days", "error_threshold") if name in changes
    }
    if not values:
        return
    statement = insert(TracingSettings).values(project_id=project_id, **values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[TracingSettings.project_id], set_={**values, "updated_at": text("now()")}
        )
    )
