"""The worker's planned COPY lines say what the reference normalisation says, span for span."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from lamina.tracing import otlp
from lamina.tracing.models import SPAN_COLUMNS
from lamina.tracing.rows import SpanLines
from lamina.tracing.store import copy_line, span_row

JSON_COLUMNS = {"inputs", "outputs", "attributes", "resource", "events", "links"}
COPY_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}

# Attribute sets as the SDKs send them, and the awkward cases: a key that is also a prefix, JSON text that is
# not JSON, NUL characters, tabs and line breaks, arrays, nested key-value lists, floats and booleans.
ATTRIBUTE_SETS: list[dict[str, Any]] = [
    {
        "ag.type.span": "workflow",
        "ag.type.trace": "invocation",
        "ag.data.inputs": '@ag.type=json:{"country": "France"}',
        "ag.data.outputs": "@ag.type=json:not json {",
        "ag.session.id": "s-1",
        "ag.user.id": "u-1",
        "ag.metrics.unit.costs.total": 0.25,
    },
    {
        "openinference.span.kind": "RETRIEVER",
        "input.value": "why\tis the sky\nblue \\ ?",
        "output.value": '[{"id": 1, "text": "light\\u0000scatters"}]',
        "input.mime_type": "text/plain",
    },
    {
        "gen_ai.operation.name": "chat",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": 120,
        "gen_ai.usage.output_tokens": 30,
        # Costs given: pricing is litellm's (seconds to import), the same function on both sides.
        "gen_ai.usage.cost": 0.001,
        "gen_ai.prompt.0.role": "user",
        "gen_ai.prompt.0.content": "hi",
        "gen_ai.prompt.1.role": "assistant",
        "gen_ai.completion.0.content": "hello\x00",
    },
    {
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.content": "{not json",
        "llm.output_messages.0.message.content": '"quoted"',
        "llm.token_count.prompt": "12",
        "llm.model_name": "some-unknown-model",
        "llm.cost.total": "0.5",
        "traceloop.span.kind": "tool",
    },
    {
        "ag.data.inputs.question": "q",
        "ag.data.inputs.context.0": "c",
        "ag.data.outputs": '{"answer": 42}',
        "ag.data": '{"conflict": true}',
        "a.b": 1,
        "a": "leaf and prefix",
        "flag": True,
        "ratio": 0.5,
        "tags": ["x", 2],
        "nested": {"k": "v"},
    },
    {"traceloop.entity.input": '{"x": 1}', "traceloop.entity.output": "[1, 2", "ag.type.trace": "ANNOTATION"},
    {},
]


def any_value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, list):
        out = AnyValue()
        out.array_value.values.extend(any_value(item) for item in value)
        return out
    if isinstance(value, dict):
        out = AnyValue()
        out.kvlist_value.values.extend(KeyValue(key=k, value=any_value(v)) for k, v in value.items())
        return out
    return AnyValue(string_value=value)


def request_of(attribute_sets: list[dict[str, Any]]) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(KeyValue(key="service.name", value=any_value("svc\tone")))
    scope = resource_spans.scope_spans.add()
    for number, attributes in enumerate(attribute_sets * 2):
        span = scope.spans.add()
        span.trace_id = bytes([number + 1]) * 16
        span.span_id = bytes([number + 1]) * 8
        span.parent_span_id = b"\x01" * 8 if number else b""
        span.name = f"span {number}\t\x00"
        span.kind = number % 6
        span.start_time_unix_nano = 1_700_000_000_123_456_789 + number
        span.end_time_unix_nano = 1_700_000_001_000_000_000 if number % 3 else 0
        span.status.code = number % 3
        span.status.message = "boom\n" if number % 3 == 2 else ""
        span.attributes.extend(KeyValue(key=k, value=any_value(v)) for k, v in attributes.items())
        if number == 1:
            event = span.events.add()
            event.name, event.time_unix_nano = "exception", 1_700_000_000_500_000_000
            event.attributes.append(KeyValue(key="exception.message", value=any_value("bad")))
            link = span.links.add()
            link.trace_id, link.span_id = b"\x09" * 16, b"\x09" * 8
    bad = scope.spans.add()
    bad.trace_id, bad.span_id = b"short", b"\x02" * 8
    return request


def fields(line: str) -> dict[str, Any]:
    values = line.split("\t")
    assert len(values) == len(SPAN_COLUMNS)
    out: dict[str, Any] = {}
    for column, raw in zip(SPAN_COLUMNS, values, strict=True):
        text = None if raw == "\\N" else re.sub(r"\\(.)", lambda m: COPY_ESCAPES[m.group(1)], raw)
        out[column] = json.loads(text) if column in JSON_COLUMNS and text is not None else text
    return out


def test_planned_lines_match_the_reference_normalisation_span_for_span() -> None:
    # GIVEN a request whose spans carry each SDK's attributes, twice (the second time from the plan cache)
    request = request_of(ATTRIBUTE_SETS)
    project_id = uuid.uuid4()
    # WHEN the worker's lines and the reference rows are built from it
    lines = SpanLines(project_id, request)
    planned = [fields(line) for line in lines]
    reference = [fields(copy_line(span_row(project_id, span))) for span in otlp.decode(request).spans]
    # THEN they agree on every column (JSON compared as values), and the malformed span is skipped
    assert len(planned) == len(reference) == len(ATTRIBUTE_SETS) * 2 == lines.spans
    for mine, theirs in zip(planned, reference, strict=True):
        assert mine == theirs
    assert len(lines.plans) == len(ATTRIBUTE_SETS)
    by_name = {row["span_name"]: row for row in planned}
    assert by_name["span 2\t"]["cost"] == "0.001" and by_name["span 2\t"]["total_tokens"] == "150"


def test_json_text_that_postgres_would_refuse_is_kept_as_a_string() -> None:
    # GIVEN JSON text with Python's NaN extension (json.loads accepts it; Postgres' jsonb does not)
    request = request_of([{"ag.data.inputs": '{"score": NaN}', "output.value": "[Infinity]"}])
    # WHEN it is turned into a line
    row = fields(next(iter(SpanLines(uuid.uuid4(), request))))
    # THEN it is stored as the string it was, not as broken JSON
    assert row["inputs"] == '{"score": NaN}' and row["outputs"] == "[Infinity]"
    assert row["attributes"]["ag"]["data"]["inputs"] == '{"score": NaN}'
