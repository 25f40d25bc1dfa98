"""Writing spans in bulk with COPY, idempotently on (project_id, trace_id, span_id).

COPY is the fastest way into Postgres from pg8000 (and has no bind parameters, so no 65,535-parameter limit).
A first delivery is copied straight into `spans` under a savepoint; when any of its spans is already stored (a
redelivery, an exporter's retry, a replay) the savepoint is rolled back and the same bytes go through a
transaction-local staging table and `INSERT ... SELECT ... ON CONFLICT DO NOTHING` instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from typing import TYPE_CHECKING, Any

from lamina.tracing import rows as r
from lamina.tracing.models import SPAN_COLUMNS
from lamina.tracing.normalize import normalize, unflatten
from lamina.tracing.otlp import DecodedSpan

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# Rows per COPY: bounds the memory one encoded batch takes, and what a conflict sends to the slower path.
SPAN_COPY_BATCH_ROWS = 5_000
STAGING_TABLE = "spans_staging"
UNIQUE_VIOLATION = "23505"
# Rows per CopyData message: small enough that Postgres starts on a batch while the rest is being built.
COPY_CHUNK_ROWS = 100
# An empty line is a row without its columns: Postgres fails the COPY (see _StreamedLines).
MALFORMED_COPY_LINE = b"\n"
# The status column of an error span, between its tabs: a text field cannot hold a raw tab, so only the
# status column matches.
ERROR_STATUS_FIELD = "\tSTATUS_CODE_ERROR\t"
# Trace ids of newly stored error spans kept per write, for the error-threshold event.
ERROR_SAMPLE_TRACES = 5
CREATE_STAGING = (
    f"CREATE TEMP TABLE IF NOT EXISTS {STAGING_TABLE} (LIKE spans INCLUDING DEFAULTS) ON COMMIT DROP"
)
# What the upsert inserted, counted in Postgres: only new error spans count towards a project's threshold.
UPSERT_FROM_STAGING = f"""
WITH inserted AS (
    INSERT INTO spans ({", ".join(SPAN_COLUMNS)})
    SELECT {", ".join(SPAN_COLUMNS)} FROM {STAGING_TABLE}
    ON CONFLICT (project_id, trace_id, span_id) DO NOTHING
    RETURNING trace_id, status_code
)
SELECT count(*),
       count(*) FILTER (WHERE status_code = 'STATUS_CODE_ERROR'),
       (array_agg(DISTINCT trace_id) FILTER (WHERE status_code = 'STATUS_CODE_ERROR'))[1:{ERROR_SAMPLE_TRACES}]
FROM inserted
"""


@dataclass
class Written:
    """What a write stored: new spans, of which errors, and a few of their trace ids."""

    inserted: int = 0
    errors: int = 0
    error_trace_ids: list[str] = field(default_factory=list)

    def add_errors(self, count: int, trace_ids: Iterable[str]) -> None:
        self.errors += count
        for trace_id in trace_ids:
            if len(self.error_trace_ids) >= ERROR_SAMPLE_TRACES:
                break
            if trace_id not in self.error_trace_ids:
                self.error_trace_ids.append(trace_id)


def span_row(project_id: uuid.UUID, span: DecodedSpan) -> tuple[Any, ...]:
    """One `spans` row (SPAN_COLUMNS order) for a decoded span, its attributes normalised.

    The reference form of what `rows.SpanLines` writes from protobuf (tests and one-off writes use it).
    """
    found = normalize(span.attributes)
    inputs = found.inputs_json if found.inputs_json is not None else r.json_text(found.inputs)
    outputs = found.outputs_json if found.outputs_json is not None else r.json_text(found.outputs)
    return (
        project_id,
        span.trace_id,
        span.span_id,
        span.parent_id,
        found.trace_type,
        found.span_type,
        span.kind,
        span.name.replace("\x00", ""),
        r.timestamp(span.start_unix_nano),
        r.timestamp(span.end_unix_nano),
        max(span.end_unix_nano - span.start_unix_nano, 0) / r.NANOS_PER_MS,
        span.status_code,
        span.status_message.replace("\x00", "") if span.status_message else None,
        found.session_id,
        found.user_id,
        found.model,
        found.prompt_tokens,
        found.completion_tokens,
        found.total_tokens,
        found.cost,
        r.strip_json_nul(inputs) if inputs is not None else None,
        r.strip_json_nul(outputs) if outputs is not None else None,
        r.json_text(unflatten(span.attributes)),
        r.json_text(unflatten(span.resource)),
        r.json_text(span.events) if span.events else r.EMPTY_LIST_JSON,
        r.json_text(span.links) if span.links else r.EMPTY_LIST_JSON,
    )


def span_rows(project_id: uuid.UUID, spans: Iterable[DecodedSpan]) -> list[tuple[Any, ...]]:
    return [span_row(project_id, span) for span in spans]


def copy_line(row: tuple[Any, ...]) -> str:
    """A row in COPY's text format: None as `\\N`, strings escaped, anything else as `str()` spells it."""
    return "\t".join(
        [
            r.COPY_NULL if value is None else r.escape(value) if type(value) is str else str(value)
            for value in row
        ]
    )


def write_spans(session: Session, rows: Iterable[tuple[Any, ...]]) -> int:
    """Insert `rows` (SPAN_COLUMNS order) in the session's transaction; how many were new."""
    return write_span_lines(session, (copy_line(row) for row in rows)).inserted


def write_span_lines(session: Session, lines: Iterable[str]) -> Written:
    """Insert spans given as COPY text lines (`rows.SpanLines`) in the session's transaction.

    `lines` may be lazy: each COPY streams them in chunks as they are produced, so Postgres parses, indexes
    and stores one chunk while Python builds the next (the two overlap on two cores instead of adding up).
    """
    # pg8000's own cursor: COPY ... FROM STDIN takes its `stream` argument.
    cursor: Any = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    written = Written()
    remaining = iter(lines)
    try:
        for first in remaining:
            batch = chain((first,), islice(remaining, SPAN_COPY_BATCH_ROWS - 1))
            _copy_batch(cursor, _StreamedLines(batch), written)
    finally:
        cursor.close()
    return written


class _StreamedLines:
    """Lines as COPY text chunks, produced while pg8000 sends them; kept, for the staging path to send again.

    An error while producing a line must not leave pg8000 mid-COPY: it is kept, and a malformed line (an empty
    one) makes Postgres fail the COPY, so the connection stays in step and the savepoint can be rolled back.
    Error spans are counted on the way (their status column, see ERROR_STATUS_FIELD).
    """

    def __init__(self, lines: Iterable[str]) -> None:
        self.chunks: list[bytes] = []
        self.error: Exception | None = None
        self.errors = 0
        self.error_trace_ids: list[str] = []
        self._stream = self._generate(iter(lines))

    def __iter__(self) -> Iterator[bytes]:
        return self._stream

    def everything(self) -> list[bytes]:
        """Every chunk, producing those pg8000 did not ask for."""
        for _ in self._stream:
            pass
        return self.chunks

    def _generate(self, lines: Iterator[str]) -> Iterator[bytes]:
        try:
            while chunk := list(islice(lines, COPY_CHUNK_ROWS)):
                chunk.append("")
                text = "\n".join(chunk)
                if ERROR_STATUS_FIELD in text:
                    self._count_errors(chunk)
                data = text.encode()
                self.chunks.append(data)
                yield data
        except Exception as error:
            self.error = error
            yield MALFORMED_COPY_LINE

    def _count_errors(self, lines: list[str]) -> None:
        for line in lines:
            if ERROR_STATUS_FIELD in line:
                self.errors += 1
                if len(self.error_trace_ids) < ERROR_SAMPLE_TRACES:
                    self.error_trace_ids.append(line.split("\t", 2)[1])


def _copy_batch(cursor: Any, lines: _StreamedLines, written: Written) -> None:
    columns = ", ".join(SPAN_COLUMNS)
    cursor.execute("SAVEPOINT spans_copy")
    try:
        cursor.execute(f"COPY spans ({columns}) FROM STDIN", stream=lines)
    except Exception as error:
        if lines.error is not None:
            cursor.execute("ROLLBACK TO SAVEPOINT spans_copy")
            raise lines.error from None
        if not _is_unique_violation(error):
            raise
        cursor.execute("ROLLBACK TO SAVEPOINT spans_copy")
        chunks = lines.everything()
        if lines.error is not None:
            raise lines.error from None
        cursor.execute(CREATE_STAGING)
        cursor.execute(f"COPY {STAGING_TABLE} ({columns}) FROM STDIN", stream=chunks)
        cursor.execute(UPSERT_FROM_STAGING)
        inserted, errors, trace_ids = cursor.fetchone()
        cursor.execute(f"TRUNCATE {STAGING_TABLE}")
        written.inserted += int(inserted)
        written.add_errors(int(errors), trace_ids or [])
        return
    written.inserted += max(int(cursor.rowcount), 0)
    written.add_errors(lines.errors, lines.error_trace_ids)
    cursor.execute("RELEASE SAVEPOINT spans_copy")


def _is_unique_violation(error: Exception) -> bool:
    details = error.args[0] if error.args else None
    return isinstance(details, dict) and details.get("C") == UNIQUE_VIOLATION
