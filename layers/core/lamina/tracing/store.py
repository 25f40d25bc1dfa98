"""Writing spans in bulk with COPY, idempotently on (project_id, trace_id, span_id).

COPY is the fastest way into Postgres from pg8000 (and has no bind parameters, so no 65,535-parameter limit).
A first delivery is copied straight into `spans` under a savepoint; when any of its spans is already stored (a
redelivery, an exporter's retry) the savepoint is rolled back and the same bytes go through a
transaction-local staging table and `INSERT ... SELECT ... ON CONFLICT DO NOTHING` instead.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterable, Iterator
from itertools import chain, islice
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
# COPY's text format (its default): a tab between fields, `\\N` for NULL, backslash escapes. Encoding it with
# `"\\t".join` costs a quarter of the csv module's writer, and Postgres parses it at least as fast.
COPY_NULL = "\\N"
# Rows per CopyData message: small enough that Postgres starts on a batch while the rest is being built.
COPY_CHUNK_ROWS = 100
# An empty line is a row without its columns: Postgres fails the COPY (see _StreamedRows).
MALFORMED_COPY_LINE = b"\n"
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
# One encoder for every value: `json.dumps` builds a new one per call.
_JSON_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str)


def span_row(
    project_id: uuid.UUID,
    span: DecodedSpan,
    resource_json: str | None = None,
    seconds_text: dict[int, str] | None = None,
) -> tuple[Any, ...]:
    """One `spans` row (SPAN_COLUMNS order) for a decoded span, its attributes normalised.

    `resource_json` is the span's resource already encoded: spans of one resource share it; `seconds_text`
    caches formatted timestamps across the spans of one batch.
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
        _timestamp(span.start_unix_nano, seconds_text),
        _timestamp(span.end_unix_nano, seconds_text),
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
        _strip_json_nul(found.inputs_json) if found.inputs_json is not None else _json(found.inputs),
        _strip_json_nul(found.outputs_json) if found.outputs_json is not None else _json(found.outputs),
        _json(unflatten(span.attributes)),
        resource_json if resource_json is not None else _json(unflatten(span.resource)),
        _json(span.events) if span.events else EMPTY_LIST_JSON,
        _json(span.links) if span.links else EMPTY_LIST_JSON,
    )


def span_rows(project_id: uuid.UUID, spans: Iterable[DecodedSpan]) -> list[tuple[Any, ...]]:
    """Rows for many spans, each distinct resource encoded once."""
    return list(iter_span_rows(project_id, spans))


def iter_span_rows(project_id: uuid.UUID, spans: Iterable[DecodedSpan]) -> Iterator[tuple[Any, ...]]:
    """`span_rows`, one at a time: `write_spans` normalises the next rows while Postgres copies the last ones."""
    encoded: dict[int, str] = {}
    seconds_text: dict[int, str] = {}
    for span in spans:
        resource_json = encoded.get(id(span.resource))
        if resource_json is None:
            resource_json = encoded[id(span.resource)] = _json(unflatten(span.resource)) or "{}"
        yield span_row(project_id, span, resource_json, seconds_text)


def write_spans(session: Session, rows: Iterable[tuple[Any, ...]]) -> int:
    """Insert `rows` (SPAN_COLUMNS order) in the session's transaction; how many were new.

    `rows` may be lazy: each COPY streams them in chunks as they are produced, so Postgres parses, indexes and
    stores one chunk while Python builds the next (the two overlap on two cores instead of adding up).
    """
    # pg8000's own cursor: COPY ... FROM STDIN takes its `stream` argument.
    cursor: Any = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    inserted = 0
    remaining = iter(rows)
    try:
        for first in remaining:
            batch = chain((first,), islice(remaining, SPAN_COPY_BATCH_ROWS - 1))
            inserted += _copy_batch(cursor, _StreamedRows(batch))
    finally:
        cursor.close()
    return inserted


class _StreamedRows:
    """Rows as COPY text chunks, produced while pg8000 sends them; kept, for the staging path to send again.

    An error while producing a row must not leave pg8000 mid-COPY: it is kept, and a malformed line (an empty
    one) makes Postgres fail the COPY, so the connection stays in step and the savepoint can be rolled back.
    """

    def __init__(self, rows: Iterable[tuple[Any, ...]]) -> None:
        self.chunks: list[bytes] = []
        self.error: Exception | None = None
        self._stream = self._generate(iter(rows))

    def __iter__(self) -> Iterator[bytes]:
        return self._stream

    def everything(self) -> list[bytes]:
        """Every chunk, producing those pg8000 did not ask for."""
        for _ in self._stream:
            pass
        return self.chunks

    def _generate(self, rows: Iterator[tuple[Any, ...]]) -> Iterator[bytes]:
        try:
            while chunk := list(islice(rows, COPY_CHUNK_ROWS)):
                data = copy_text(chunk)
                self.chunks.append(data)
                yield data
        except Exception as error:
            self.error = error
            yield MALFORMED_COPY_LINE


def _copy_batch(cursor: Any, rows: _StreamedRows) -> int:
    columns = ", ".join(SPAN_COLUMNS)
    cursor.execute("SAVEPOINT spans_copy")
    try:
        cursor.execute(f"COPY spans ({columns}) FROM STDIN", stream=rows)
    except Exception as error:
        if rows.error is not None:
            cursor.execute("ROLLBACK TO SAVEPOINT spans_copy")
            raise rows.error from None
        if not _is_unique_violation(error):
            raise
        cursor.execute("ROLLBACK TO SAVEPOINT spans_copy")
        chunks = rows.everything()
        if rows.error is not None:
            raise rows.error from None
        cursor.execute(CREATE_STAGING)
        cursor.execute(f"COPY {STAGING_TABLE} ({columns}) FROM STDIN", stream=chunks)
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


def copy_text(rows: Iterable[tuple[Any, ...]]) -> bytes:
    """Rows in COPY's text format: None as `\\N`, strings escaped, anything else as `str()` spells it."""
    lines = [
        "\t".join(
            [
                COPY_NULL if value is None else _escape(value) if type(value) is str else str(value)
                for value in row
            ]
        )
        for row in rows
    ]
    lines.append("")
    return "\n".join(lines).encode()


def _escape(value: str) -> str:
    """A string as one COPY text field: its backslashes, tabs and line breaks escaped (each test is one C scan;
    most fields have none of them)."""
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if "\t" in value:
        value = value.replace("\t", "\\t")
    if "\n" in value:
        value = value.replace("\n", "\\n")
    if "\r" in value:
        value = value.replace("\r", "\\r")
    return value


def _timestamp(unix_nano: int, seconds_text: dict[int, str] | None = None) -> str:
    """ISO 8601 in UTC to the microsecond (formatted by hand: datetime objects cost several times more).

    `seconds_text` caches the formatted second: a span's start and end, and a trace's spans, often share it.
    """
    seconds, nanos = divmod(unix_nano, 1_000_000_000)
    whole = seconds_text.get(seconds) if seconds_text is not None else None
    if whole is None:
        whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        if seconds_text is not None:
            seconds_text[seconds] = whole
    return f"{whole}.{nanos // NANOS_PER_MICRO:06d}+00:00"


def _text(value: str | None) -> str | None:
    """Postgres text holds no NUL character."""
    return value.replace("\x00", "") if value and "\x00" in value else value


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return _strip_json_nul(_JSON_ENCODER.encode(value))


def _strip_json_nul(text: str) -> str:
    return _JSON_NUL.sub(r"\1", text) if "\\u0000" in text else text
