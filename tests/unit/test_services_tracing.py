"""The invocation span is a valid OTLP/JSON export carrying Agenta's attributes (what the trace ingest reads)."""

from __future__ import annotations

import base64
import copy
import json

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from lamina.services.tracing import InvocationSpan, otlp_document


def test_the_invocation_span_is_an_otlp_export_with_agenta_attributes() -> None:
    # GIVEN a finished chat invocation inside a caller's trace
    span = InvocationSpan(
        trace_id="0af7651916cd43dd8448eb211c80319c",
        span_id="b7ad6b7169203331",
        parent_span_id="00f067aa0ba902b7",
        kind="chat",
        started_ns=1_700_000_000_000_000_000,
        ended_ns=1_700_000_000_250_000_000,
        inputs={"name": "Ada", "messages": [{"role": "user", "content": "hi"}]},
        outputs={"role": "assistant", "content": "hello"},
        model="openai/gpt-4o-mini",
        usage={"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    )
    # WHEN it is rendered as OTLP/JSON
    document = otlp_document(span)
    # THEN protobuf's own parser accepts it (OTLP/JSON writes ids in hex where proto3 JSON wants base64)
    as_proto3 = copy.deepcopy(document)
    raw = as_proto3["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    for field in ("traceId", "spanId", "parentSpanId"):
        raw[field] = base64.b64encode(bytes.fromhex(raw[field])).decode()
    parsed = json_format.Parse(json.dumps(as_proto3), ExportTraceServiceRequest())
    parsed_span = parsed.resource_spans[0].scope_spans[0].spans[0]
    assert (
        parsed_span.trace_id.hex() == span.trace_id and parsed_span.parent_span_id.hex() == "00f067aa0ba902b7"
    )
    assert parsed_span.end_time_unix_nano - parsed_span.start_time_unix_nano == 250_000_000
    # AND the attributes are the ones the ingest normalises (type, inputs, outputs, model, tokens)
    attributes = {item.key: json_format.MessageToDict(item.value) for item in parsed_span.attributes}
    assert attributes["ag.type.span"] == {"stringValue": "chat"}
    assert json.loads(attributes["ag.data.outputs"]["stringValue"]) == span.outputs
    assert json.loads(attributes["ag.data.inputs"]["stringValue"])["name"] == "Ada"
    assert attributes["ag.meta.request.model"] == {"stringValue": "openai/gpt-4o-mini"}
    assert attributes["ag.metrics.unit.tokens.total"] == {"intValue": "18"}
