"""Function log lines as a person reads them: `lamina up` turns the JSON lines of `lamina.logs` into

    16:34:12.948 INFO  request refused  reason="empty credential" route="ANY /api/{proxy+}"  corr=4bf92f35

(time, level, message, the record's own fields, the first characters of its correlation id), followed by the
traceback of an exception. The function's name is the console's prefix. Lines that are not such JSON (the
runtime's START/END/REPORT, a print()) pass through unchanged; `lamina up --log-format json` keeps them raw.
"""

from __future__ import annotations

import json
from typing import Any

# What every record carries (the console line already says which function and request): not repeated.
CONTEXT_KEYS = frozenset(
    {
        "level",
        "location",
        "message",
        "timestamp",
        "service",
        "cold_start",
        "function_name",
        "function_memory_size",
        "function_arn",
        "function_request_id",
        "xray_trace_id",
        "sampling_rate",
        "correlation_id",
        "exception",
        "exception_name",
        "exception_notes",
        "stack_trace",
    }
)
CORRELATION_PREFIX_CHARS = 8
LEVEL_COLOURS = {"DEBUG": "2", "WARNING": "33", "ERROR": "31", "CRITICAL": "1;31"}


def render(line: str, *, colour: bool = False) -> str:
    """`line` as one readable line (plus traceback lines) when it is a structured log record, else unchanged."""
    if not line.startswith("{"):
        return line
    try:
        record = json.loads(line)
    except ValueError:
        return line
    if not isinstance(record, dict) or "level" not in record or "message" not in record:
        return line
    level = str(record["level"])
    shown_level = f"{level:<5}"
    if colour and level in LEVEL_COLOURS:
        shown_level = f"\033[{LEVEL_COLOURS[level]}m{shown_level}\033[0m"
    parts = [_time_of(record.get("timestamp")), shown_level, _text(record["message"])]
    fields = " ".join(
        f"{key}={_text(value, quote=True)}" for key, value in record.items() if key not in CONTEXT_KEYS
    )
    if fields:
        parts.append(f" {fields}")
    correlation = record.get("correlation_id")
    if correlation:
        parts.append(f" corr={str(correlation)[:CORRELATION_PREFIX_CHARS]}")
    rendered = " ".join(parts)
    exception = record.get("exception")
    if exception:
        rendered += "\n" + "\n".join(f"    {row}" for row in str(exception).splitlines())
    return rendered


def _time_of(timestamp: Any) -> str:
    """HH:MM:SS.mmm of an RFC 3339 timestamp (`2026-11-28T16:34:12.948+00:00`); anything else as given."""
    text = str(timestamp or "")
    return text[11:23] if len(text) >= 23 and text[10] in "T " else text


def _text(value: Any, *, quote: bool = False) -> str:
    if isinstance(value, str):
        return (
            json.dumps(value)
            if quote and (not value or any(c.isspace() or c in '"=' for c in value))
            else value
        )
    return json.dumps(value, separators=(",", ":"), default=str)
