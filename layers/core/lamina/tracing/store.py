"""Writing spans in bulk with COPY, idempotently on (project_id, trace_id, span_id).

COPY is the fastest way into Postgres from pg8000 (and has no bind parameters, so no 65,535-parameter limit).
A first delivery is copied straight into `spans` under a savepoint; when any of its spans is already stored (a
redelivery, an exporter's retry) the savepoint is rolled back and the same bytes go through a
transaction-local staging table and `INSERT ... SELECT ... ON CONFLICT DO NOTHING` instead.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from lamina.tracing.models import SPAN_COLUMNS
from lamina.tracing.normalize import normalize, unflatten
from lamina.tracing.otlp import DecodedSpan

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# Rows per COPY: bounds the memory one encoded batch takes, and what a conflict sends to the slower path.
SPAN_COPY_BATCH_ROWS = 5_000
STAGING_TABLE = "spans_staging"
UNIQUE_VIOLATION = "23505"
# Text columns that are never NULL: in CSV an empty unquoted field would otherwise read as NULL.
NOT_NULL_TEXT = ("trace_id", "span_id", "trace_type", "span_type", "span_kind", "span_name", "status_code")
COPY_OPTIONS = f"(FORMAT csv, FORCE_NOT_NULL ({', '.join(NOT_NULL_TEXT)}))"
CREATE_STAGING = (
    f"CREATE TEMP TABLE IF NOT EXISTS {STAGING_TABLE} (LIKE spans INCLUDING DEFAULTS) ON COMMIT DROP"
)
UPSERT_FROM_STAGING = f"""
INSERT INTO spans ({", ".join(SPAN_COLUMNS)})
SELECT {", ".join(SPAN_COLUMNS)} FROM {STAGING_TABLE}
ON CONFLICT (project_id, trace_id, span_id) DO NOTHING
"""
# A JSON \u0000 escape that is not itself escaped: Postgres' jsonb refuses NUL characters.
_JSON_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")
EMPTY_LIST_JSON = "[]"
NANOS_PER_MICRO = 1_000
NANOS_PER_MS = 1_000_000


def span_row(project_id: uuid.UUID, span: DecodedSpan, resource_json: str | None = None) -> tuple[Any, ...]:
    """One `spans` row (SPAN_COLUMNS order) for a decoded span, its attributes normalised.

    `resource_json` is the span's resource already encoded: spans of one resource share it.
    """
    found = normalize(span.attributes)
    return (
        project_id,
        span.trace_id,
        span.span_id,
        span.parent_id,
        found.trace_type,
        found.span_type,
        span.kind,
        _text(span.name),
        _timestamp(span.start_unix_nano),
        _timestamp(span.end_unix_nano),
        max(span.end_unix_nano - span.start_unix_nano, 0) / NANOS_PER_MS,
        span.status_code,
        _text(span.status_message),
        found.session_id,
        found.user_id,
        found.model,
        found.prompt_tokens,
        found.completion_tokens,
        found.total_tokens,
        found.cost,
        _json(found.inputs),
        _json(found.outputs),
        _json(unflatten(span.attributes)),
        resource_json if resource_json is not None else _json(unflatten(span.resource)),
        _json(span.events) if span.events else EMPTY_LIST_JSON,
        _json(span.links) if span.links else EMPTY_LIST_JSON,
    )


def span_rows(project_id: uuid.UUID, spans: Iterable[DecodedSpan]) -> list[tuple[Any, ...]]:
    """Rows for many spans, each distinct resource encoded once."""
    encoded: dict[int, str] = {}
    rows = []
    for span in spans:
        resource_json = encoded.get(id(span.resource))
        if resource_json is None:
            resource_json = encoded[id(span.resource)] = _json(unflatten(span.resource)) or "{}"
        rows.append(span_row(project_id, span, resource_json))
    return rows


def write_spans(session: Session, rows: Sequence[tuple[Any, ...]]) -> int:
    """Insert `rows` (SPAN_COLUMNS order) in the session's transaction; how many were new."""
    # pg8000's own cursor: COPY ... FROM STDIN takes its `stream` argument.
    cursor: Any = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    inserted = 0
    try:
        for start in range(0, len(rows), SPAN_COPY_BATCH_ROWS):
            inserted += _copy_batch(cursor, copy_csv(rows[start : start + SPAN_COPY_BATCH_ROWS]))
    finally:
        cursor.close()
    return inserted


def _copy_batch(cursor: Any, data: bytes) -> int:
    columns = ", ".join(SPAN_COLUMNS)
    cursor.execute("SAVEPOINT spans_copy")
    try:
        cursor.execute(f"COPY spans ({columns}) FROM STDIN {COPY_OPTIONS}", stream=io.BytesIO(data))
    except Exception as error:
        if not _is_unique_violation(error):
            raise
        cursor.execute("ROLLBACK TO SAVEPOINT spans_copy")
        cursor.execute(CREATE_STAGING)
        cursor.execute(f"COPY {STAGING_TABLE} ({columns}) FROM STDIN {COPY_OPTIONS}", stream=io.BytesIO(data))
        cursor.execute(UPSERT_FROM_STAGING)
        inserted = max(cursor.rowcount, 0)
        cursor.execute(f"TRUNCATE {STAGING_TABLE}")
        return int(inserted)
    copied = max(cursor.rowcount, 0)
    cursor.execute("RELEASE SAVEPOINT spans_copy")
    return int(copied)


def _is_unique_violation(error: Exception) -> bool:
    details = error.args[0] if error.args else None
    return isinstance(details, dict) and details.get("C") == UNIQUE_VIOLATION


def copy_csv(rows: Iterable[tuple[Any, ...]]) -> bytes:
    """Rows in COPY's CSV format: None as an empty unquoted field (NULL)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode()


def _timestamp(unix_nano: int) -> str:
    """ISO 8601 in UTC to the microsecond (formatted by hand: datetime objects cost several times more)."""
    seconds, nanos = divmod(unix_nano, 1_000_000_000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds))}.{nanos // NANOS_PER_MICRO:06d}+00:00"


def _text(value: str | None) -> str | None:
    """Postgres text holds no NUL character."""
    return value.replace("\x00", "") if value and "\x00" in value else value


def _json(value: Any) -> str | None:
    if value is None:
        return None
    text = json.dumps(value, separators=(",", ":"), default=str)
    return _JSON_NUL.sub(r"\1", text) if "\\u0000" in text else text
