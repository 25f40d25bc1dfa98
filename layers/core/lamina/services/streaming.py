"""Streamed invocations: the model's answer to the client as it is generated, as Agenta's routing streams.

A client asks for a stream with `Accept: text/event-stream` (server-sent events: `data: <json>` frames) or
`Accept: application/x-ndjson` / `application/jsonl` (a JSON object a line), or with `flags.stream: true`
and no such Accept (NDJSON, Agenta's default for a stream). The events:

- `{"type": "delta", "data": {"content": "..."}}` (or `tool_calls` fragments), one per provider chunk;
- then exactly one of `{"type": "result", "version", "trace_id", "span_id", "status", "data": {"outputs"}}`
  (the invoke's answer, the same shape as the batch response) or
  `{"type": "error", "version", "trace_id", "span_id", "status": {"code", "message", "type"}}`.

Everything that can fail before the provider's first chunk (parameters, rendering, credentials, a refused
or rate-limited call after its retries and fallbacks) fails the request with its own status, as a batch
invoke would; only what breaks afterwards becomes an `error` event. The span is handed to the trace
ingest before the last event is sent. Behind API Gateway's HTTP API a Lambda answer is buffered, so there
the client receives the whole event stream at once; served directly (uvicorn, a function URL in a
streaming runtime) it arrives chunk by chunk.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

from lamina.errors import LaminaError
from lamina.services.llm import ProviderStream
from lamina.services.schemas import (
    SERVICE_VERSION,
    InvokeRequest,
    InvokeResponse,
    InvokeResponseData,
    ServiceKind,
)
from lamina.services.service import (
    PreparedInvocation,
    TraceContext,
    invocation_span,
    prepare,
    record_span,
)
from lamina.tenancy.principal import Principal

WireFormat = Literal["sse", "ndjson"]
SSE_MEDIA_TYPE = "text/event-stream"
NDJSON_MEDIA_TYPES = ("application/x-ndjson", "application/jsonl")
MEDIA_TYPES: dict[WireFormat, str] = {"sse": SSE_MEDIA_TYPE, "ndjson": "application/x-ndjson"}
# Proxies (nginx, CloudFront) must not hold the events back to buffer them.
STREAM_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def requested_stream(accept: str | None, flags: dict[str, Any] | None) -> WireFormat | None:
    """The stream format a request asks for, if it asks for one (Accept first, then `flags.stream`)."""
    accept = (accept or "").lower()
    if SSE_MEDIA_TYPE in accept:
        return "sse"
    if any(media_type in accept for media_type in NDJSON_MEDIA_TYPES):
        return "ndjson"
    if (flags or {}).get("stream") is True:
        return "ndjson"
    return None


def frame(event: dict[str, Any], wire: WireFormat) -> bytes:
    text = json.dumps(event, ensure_ascii=False, separators=(",", ":"), default=str)
    return f"data: {text}\n\n".encode() if wire == "sse" else f"{text}\n".encode()


def error_event(trace: TraceContext, error: LaminaError) -> dict[str, Any]:
    return {
        "type": "error",
        "version": SERVICE_VERSION,
        "trace_id": trace.trace_id,
        "span_id": trace.span_id,
        "status": {"code": error.status_code, "message": error.message, "type": error.code},
    }


@dataclass
class InvocationStream:
    """An invocation whose provider has started answering; `events()` runs it to its end."""

    kind: ServiceKind
    request: InvokeRequest
    principal: Principal
    trace: TraceContext
    started_ns: int
    prepared: PreparedInvocation
    stream: ProviderStream

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        from lamina.services.outputs import shape_outputs

        call = self.stream.call
        outputs: Any = None
        usage: dict[str, Any] = {}
        failure: LaminaError | None = None
        try:
            async for delta in self.stream.deltas():
                yield {"type": "delta", "data": delta}
            answer = self.stream.assembled()
            usage = answer.get("usage") or {}
            outputs = shape_outputs(self.kind, call.requested, answer, self.prepared.config_of(call))
        except LaminaError as error:
            failure = error
        except Exception as error:  # traced, then answered as the batch route answers an unexpected fault
            span = invocation_span(
                self.kind, self.request, self.trace, self.started_ns, model=call.requested, error=error
            )
            await record_span(self.principal.project_id, span)
            raise
        span = invocation_span(
            self.kind,
            self.request,
            self.trace,
            self.started_ns,
            model=call.requested,
            outputs=outputs,
            usage=usage,
            error=failure,
        )
        await record_span(self.principal.project_id, span)
        if failure is not None:
            yield error_event(self.trace, failure)
            return
        result = InvokeResponse(
            trace_id=self.trace.trace_id, span_id=self.trace.span_id, data=InvokeResponseData(outputs=outputs)
        )
        yield {"type": "result", **result.model_dump(mode="json")}


async def open_invocation_stream(
    kind: ServiceKind, request: InvokeRequest, principal: Principal, trace: TraceContext, *, local: bool
) -> InvocationStream:
    """Prepare the invocation and start the provider's stream; a failure up to its first chunk raises
    (after its span was traced), like a batch invoke's."""
    from lamina.services.llm import open_stream

    started_ns = time.time_ns()
    model: str | None = None
    try:
        prepared = await prepare(kind, request, principal, local=local)
        model = prepared.calls[0].requested
        _, stream = await open_stream(prepared.calls, prepared.messages, prepared.llm_configs, prepared.retry)
    except Exception as error:
        span = invocation_span(kind, request, trace, started_ns, model=model, error=error)
        await record_span(principal.project_id, span)
        raise
    return InvocationStream(kind, request, principal, trace, started_ns, prepared, stream)


async def framed(events: AsyncIterator[dict[str, Any]], wire: WireFormat) -> AsyncIterator[bytes]:
    async for event in events:
        yield frame(event, wire)
