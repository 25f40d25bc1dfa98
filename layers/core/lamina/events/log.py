"""The event log read back: `POST /api/events/query`, and each project's retention of it."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, text
from sqlalchemy.dialects.postgresql import insert

from lamina.events import schemas
from lamina.events.keyset import fetch_log_window
from lamina.events.models import EventRecord, EventSettings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# Rows per DELETE and batches per run, as for spans: a run never holds locks long; the next one continues.
RETENTION_BATCH_ROWS = 10_000
RETENTION_MAX_BATCHES = 50


def type_condition(column: Any, pattern: str) -> Any:
    """An event type, or a family: `applications.*` (every type under the prefix) or `*` (every type)."""
    if pattern == "*":
        return column.is_not(None)
    if pattern.endswith(".*"):
        prefix = pattern[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return column.like(f"{prefix}%", escape="\\")
    return column == pattern


def query_events(
    session: Session, project_id: uuid.UUID, query: schemas.EventsQuery
) -> schemas.EventsQueryResponse:
    """One window of the project's recorded events, newest first unless asked."""
    statement = select(EventRecord).where(EventRecord.project_id == project_id)
    event = query.event
    if event is not None:
        patterns = [*([event.event_type] if event.event_type else []), *(event.event_types or [])]
        if patterns:
            statement = statement.where(or_(*(type_condition(EventRecord.type, p) for p in patterns)))
        if event.event_id is not None:
            statement = statement.where(EventRecord.id == event.event_id)
    window = fetch_log_window(session, statement, EventRecord.occurred_at, EventRecord.id, query.windowing)
    events = [
        schemas.EventView(
            event_id=row.id,
            # Lamina does not record which request staged an event: the event is its own request.
            request_id=str(row.id),
            event_type=row.type,
            timestamp=row.occurred_at,
            attributes=row.payload,
            created_at=row.recorded_at,
        )
        for row in window.rows
    ]
    return schemas.EventsQueryResponse(count=len(events), events=events, windowing=window.windowing)


def default_retention_days() -> int:
    from lamina.settings import get_settings

    return get_settings().events_retention_days


def event_settings(session: Session, project_id: uuid.UUID) -> schemas.EventSettingsView:
    row = session.get(EventSettings, project_id)
    if row is None:
        return schemas.EventSettingsView(retention_days=default_retention_days(), is_default=True)
    return schemas.EventSettingsView(retention_days=row.retention_days, is_default=False)


def set_event_settings(
    session: Session, project_id: uuid.UUID, edit: schemas.EventSettingsEdit
) -> schemas.EventSettingsView:
    """Keep the project's events and trigger deliveries `retention_days` (None: the deployment's default)."""
    if edit.retention_days is None:
        row = session.get(EventSettings, project_id)
        if row is not None:
            session.delete(row)
    else:
        statement = insert(EventSettings).values(project_id=project_id, retention_days=edit.retention_days)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=[EventSettings.project_id],
                set_={"retention_days": edit.retention_days, "updated_at": text("now()")},
            )
        )
    session.flush()
    return event_settings(session, project_id)


def delete_expired(table: str, time_column: str) -> int:
    """Delete `table`'s rows older than their project's event retention (a project-less row: the default).

    For the event log and the automation logs kept with it (trigger deliveries); one batch per transaction.
    """
    from lamina.db.unit_of_work import unit_of_work

    # Identifiers come from this codebase's own calls, never from a request.
    statement = text(
        f"""
        DELETE FROM {table} WHERE ctid IN (
            SELECT r.ctid FROM {table} r LEFT JOIN event_settings s ON s.project_id = r.project_id
            WHERE r.{time_column} < now() - make_interval(days => coalesce(s.retention_days, :default_days))
            LIMIT :batch
        )
        """
    )
    deleted = 0
    for _ in range(RETENTION_MAX_BATCHES):
        with unit_of_work() as session:
            result = session.execute(
                statement, {"default_days": default_retention_days(), "batch": RETENTION_BATCH_ROWS}
            )
        count = int(getattr(result, "rowcount", 0) or 0)
        deleted += count
        if count < RETENTION_BATCH_ROWS:
            break
    return deleted
