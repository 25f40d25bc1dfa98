"""The span of one invocation, as an OTLP/JSON export handed to Lamina's own trace ingest before returning.

Attributes follow Agenta's SDK (`ag.type.*`, `ag.data.inputs|outputs`, `ag.meta.request.model`,
`ag.metrics.unit.tokens.*`) so the ingest normalises them like any SDK span (and prices the tokens).
The export goes through `lamina.tracing.service.accept_export` (the raw body to S3, then the `tracing`
queue) in the request, never after it: a frozen function cannot lose it. Where that ingest is absent
from the deployed code, or fails, the answer is still returned and the failure logged: a trace is never
worth a user's completion.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

SERVICE_NAME = "lamina-services"
SCOPE_NAME = "lamina.services"
OTLP_JSON = "application/json"
SPAN_KIND_SERVER = 2
STATUS_OK = 1
STATUS_ERROR = 2
# An attribute value larger than this is cut: a trace is for reading, a huge prompt would cost the invoke.
MAX_ATTRIBUTE_CHARS = 64 * 1024


@dataclass(frozen=True)
class InvocationSpan:
    trace_id: str
    span_id: str
    parent_span_id: str | None
    kind: str
    started_ns: int
    ended_ns: int
    inputs: dict[str, Any]
    outputs: Any
    model: str | None
    usage: dict[str, Any]
    error: str | None = None
    # The HTTP status the failure answered (a 424, a 429, a 400...), for a reader of a failed run's trace.
    error_status: int | None = None
    error_type: str | None = None


def _value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return {"stringValue": text[:MAX_ATTRIBUTE_CHARS]}


def _attributes(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": key, "value": _value(value)} for key, value in values.items() if value is not None]


def otlp_document(span: InvocationSpan) -> dict[str, Any]:
    """An OTLP/JSON ExportTraceServiceRequest holding the invocation's span."""
    attributes = {
        "ag.type.trace": "invocation",
        "ag.type.span": span.kind,
        "ag.data.inputs": span.inputs,
        "ag.data.outputs": span.outputs,
        "ag.meta.request.model": span.model,
        "ag.metrics.unit.tokens.prompt": span.usage.get("prompt_tokens"),
        "ag.metrics.unit.tokens.completion": span.usage.get("completion_tokens"),
        "ag.metrics.unit.tokens.total": span.usage.get("total_tokens"),
        "ag.metrics.unit.costs.total": span.usage.get("cost"),
    }
    otlp_span: dict[str, Any] = {
        "traceId": span.trace_id,
        "spanId": span.span_id,
        "name": span.kind,
        "kind": SPAN_KIND_SERVER,
        "startTimeUnixNano": str(span.started_ns),
        "endTimeUnixNano": str(span.ended_ns),
        "attributes": _attributes(attributes),
        "status": {"code": STATUS_ERROR, "message": span.error} if span.error else {"code": STATUS_OK},
    }
    if span.parent_span_id:
        otlp_span["parentSpanId"] = span.parent_span_id
    if span.error:
        # OpenTelemetry's exception event: what a trace viewer shows for a failed span.
        otlp_span["events"] = [
            {
                "name": "exception",
                "timeUnixNano": str(span.ended_ns),
                "attributes": _attributes(
                    {
                        "exception.type": span.error_type,
                        "exception.message": span.error,
                        "http.response.status_code": span.error_status,
                    }
                ),
            }
        ]
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": _attributes({"service.name": SERVICE_NAME})},
                "scopeSpans": [{"scope": {"name": SCOPE_NAME}, "spans": [otlp_span]}],
            }
        ]
    }


def tracing_enabled() -> bool:
    """Whether this deployment has the trace ingest (its code and its `tracing` queue) to export to."""
    from lamina.queues.names import Queue
    from lamina.settings import get_settings

    if not get_settings().queue_url(Queue.TRACING):
        return False
    from lamina.state import current

    return current().memo("services:trace_ingest_available", _trace_ingest_installed)


def _trace_ingest_installed() -> bool:
    try:
        return importlib.util.find_spec("lamina.tracing.service") is not None
    except ModuleNotFoundError:  # not even the `lamina.tracing` package
        return False


def export_span(project_id: uuid.UUID, span: InvocationSpan) -> bool:
    """Hand the span to the trace ingest; whether it was accepted (a failure is logged, never raised)."""
    try:
        from lamina.tracing.service import accept_export

        body = json.dumps(otlp_document(span), separators=(",", ":")).encode()
        accept_export(project_id, body, OTLP_JSON, None)
        return True
    except Exception:
        logger.exception("the invocation's span could not be exported", extra={"trace_id": span.trace_id})
        return False
