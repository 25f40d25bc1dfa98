"""Writing spans in bulk: COPY into a transaction-local staging table, then one idempotent INSERT ... SELECT.

COPY is the fastest way into Postgres from pg8000 (no bind parameters, so no 65,535-parameter limit either);
the upsert from staging makes a redelivered or re-sent span a no-op on (project_id, trace_id, span_id).
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from lamina.tracing.normalize import normalize, unflatten
from lamina.tracing.otlp import DecodedSpan

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# Rows per COPY stream: bounds the memory one encoded batch takes.
SPAN_COPY_BATCH_ROWS = 5_000
STAGING_TABLE = "spans_staging"
STAGING_COLUMNS = (
    "project_id",
    "trace_id",
    "span_id",
    "parent_id",
    "trace_type",
    "span_type",
    "span_kind",
    "span_name",
    "start_ns",
    "end_ns",
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
CREATE_STAGING = f"""
CREATE TEMP TABLE IF NOT EXISTS {STAGING_TABLE} (
    project_id uuid, trace_id text, span_id text, parent_id text, trace_type text, span_type text,
    span_kind text, span_name text, start_ns bigint, end_ns bigint, status_code text, status_message text,
    session_id text, user_id text, model text, prompt_tokens bigint, completion_tokens bigint,
    total_tokens bigint, cost float8, inputs jsonb, outputs jsonb, attributes jsonb, resource jsonb,
    events jsonb, links jsonb
) ON COMMIT DROP
"""
UPSERT_FROM_STAGING = f"""
INSERT INTO spans (
    project_id, trace_id, span_id, parent_id, trace_type, span_type, span_kind, span_name, start_time,
    end_time, duration_ms, status_code, status_message, session_id, user_id, model, prompt_tokens,
    completion_tokens, total_tokens, cost, inputs, outputs, attributes, resource, events, links
)
SELECT project_id, trace_id, span_id, parent_id, trace_type, span_type, span_kind, span_name,
    timestamptz 'epoch' + (start_ns / 1000) * interval '1 microsecond',
    timestamptz 'epoch' + (end_ns / 1000) * interval '1 microsecond',
    greatest(end_ns - start_ns, 0) / 1e6, status_code, status_message, session_id, user_id, model,
    prompt_tokens, completion_tokens, total_tokens, cost, inputs, outputs, attributes, resource, events, links
FROM {STAGING_TABLE}
ON CONFLICT (project_id, trace_id, span_id) DO NOTHING
"""
# A JSON \u0000 escape that is not itself escaped: Postgres' jsonb refuses NUL characters.
_JSON_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": ""})


def span_row(project_id: uuid.UUID, span: DecodedSpan) -> tuple[Any, ...]:
    """One staging row (STAGING_COLUMNS order) for a decoded span, its attributes normalised."""
    found = normalize(span.attributes)
    return (
        project_id,
        span.trace_id,
        span.span_id,
        span.parent_id,
        found.trace_type,
        found.span_type,
        span.kind,
        span.name,
        span.start_unix_nano,
        span.end_unix_nano,
        span.status_code,
        span.status_message,
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
        _json(unflatten(span.resource)),
        _json(span.events),
        _json(span.links),
    )


def write_spans(session: Session, rows: Sequence[tuple[Any, ...]]) -> int:
    """Insert `rows` (STAGING_COLUMNS order) in the session's transaction; how many were new."""
    if not rows:
        return 0
    # pg8000's own cursor: COPY ... FROM STDIN takes its `stream` argument.
    cursor: Any = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    inserted = 0
    try:
        cursor.execute(CREATE_STAGING)
        for start in range(0, len(rows), SPAN_COPY_BATCH_ROWS):
            stream = io.BytesIO(copy_text(rows[start : start + SPAN_COPY_BATCH_ROWS]))
            cursor.execute(f"COPY {STAGING_TABLE} ({', '.join(STAGING_COLUMNS)}) FROM STDIN", stream=stream)
            cursor.execute(UPSERT_FROM_STAGING)
            inserted += max(cursor.rowcount, 0)
            cursor.execute(f"TRUNCATE {STAGING_TABLE}")
    finally:
        cursor.close()
    return inserted


def copy_text(rows: Iterable[tuple[Any, ...]]) -> bytes:
    """Rows in COPY's text format (tab-separated, `\\N` for NULL)."""
    lines = ["\t".join(_copy_field(value) for value in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def _copy_field(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    return str(value)


def _json(value: Any) -> str | None:
    if value is None:
        return None
    text = json.dumps(value, separators=(",", ":"), default=str)
    return _JSON_NUL.sub(r"\1", text) if "\\u0000" in text else text
