"""`spans` rows as COPY text lines, straight from OTLP protobuf: the tracing worker's hot path.

What the keys of a span's attributes say is planned once per key set (`shapes.ShapePlan`); here only the
values are handled per span. The result is what `normalize` + `unflatten` give
(`tests/unit/test_tracing_rows.py` holds them to it); JSON text an attribute carries is validated and stored
as received rather than decoded and encoded again.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii
from typing import Any

from lamina.tracing import normalize as n
from lamina.tracing.otlp import (
    SPAN_ID_BYTES,
    SPAN_KINDS,
    STATUS_CODES,
    TRACE_ID_BYTES,
    attributes_of,
    value_of,
)
from lamina.tracing.shapes import DataPlan, ShapePlan, plan_shape

COPY_NULL = "\\N"
EMPTY_LIST_JSON = "[]"
NANOS_PER_MICRO = 1_000
NANOS_PER_MS = 1_000_000
# Plans kept per process; past this many key sets (attributes that are not a fixed set) they start over.
SHAPE_PLANS_MAX = 4096
# One encoder for every value: `json.dumps` builds a new one per call.
_JSON_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str)


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are Python's JSON, not Postgres': such a value is kept as a string.
    raise ValueError(name)


_JSON_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


@dataclass
class Normalized:
    """A span's normalised columns, the JSON ones already encoded (None for SQL NULL)."""

    trace_type: str
    span_type: str
    session_id: str | None
    user_id: str | None
    model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None
    cost: float | None
    inputs: str | None
    outputs: str | None
    attributes: str


def normalized(plan: ShapePlan, values: Sequence[Any]) -> Normalized:
    """What `normalize.normalize` and `unflatten` say of the attributes `plan.keys` = `values`."""
    model = _first_str(values, plan.model_at) if plan.model_at else None
    prompt = _first_int(values, plan.prompt_at) if plan.prompt_at else None
    completion = _first_int(values, plan.completion_at) if plan.completion_at else None
    total = _first_int(values, plan.total_at) if plan.total_at else None
    if total is None and (prompt is not None or completion is not None):
        total = (prompt or 0) + (completion or 0)
    cost = _first_float(values, plan.cost_at) if plan.cost_at else None
    if cost is None and model and (prompt or completion):
        cost = n.price(model, prompt or 0, completion or 0)
    span_type = None
    for index in plan.span_type_at:
        span_type = n.span_type_of(values[index])
        if span_type is not None:
            break
    if span_type is None:
        span_type = "llm" if model is not None or plan.has_llm_system else "unknown"
    # Each value encoded once: the attributes document and the inputs or outputs column share it.
    encoded = [_value_json(value) for value in values] if plan.template is not None else None
    return Normalized(
        trace_type=n.trace_type_of(values[plan.trace_type_at] if plan.trace_type_at is not None else None),
        span_type=span_type,
        session_id=_first_str(values, plan.session_at) if plan.session_at else None,
        user_id=_first_str(values, plan.user_at) if plan.user_at else None,
        model=model,
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=total,
        cost=cost,
        inputs=_data_json(plan.inputs, values, encoded),
        outputs=_data_json(plan.outputs, values, encoded),
        attributes=attributes_json(plan, values, encoded),
    )


def attributes_json(plan: ShapePlan, values: Sequence[Any], encoded: list[str] | None = None) -> str:
    """The attributes nested by their dotted keys, as JSON text (`unflatten`'s document)."""
    if plan.template is None:
        return json_text(n.unflatten(dict(zip(plan.keys, values, strict=True)))) or "{}"
    if encoded is None:
        encoded = [_value_json(value) for value in values]
    text = plan.template % (
        tuple(encoded) if plan.in_key_order else tuple([encoded[index] for index in plan.slots])
    )
    return strip_json_nul(text) if "\\u0000" in text else text


def _value_json(value: Any) -> str:
    """An attribute's value as JSON: JSON text it carries as is (validated), anything else encoded."""
    kind = type(value)
    if kind is str:
        text: str = value
        if text.startswith(n.AGENTA_JSON_MARKER):
            text = text[len(n.AGENTA_JSON_MARKER) :]
        elif text[:1] not in ("{", "[", '"'):
            return encode_basestring_ascii(text)
        return text if _is_json(text) else encode_basestring_ascii(text)
    if kind is int:
        return str(value)
    return _JSON_ENCODER.encode(value)


def _is_json(text: str) -> bool:
    try:
        _JSON_DECODER.decode(text)
    except ValueError:
        return False
    return True


def _data_json(plan: DataPlan, values: Sequence[Any], encoded: list[str] | None) -> str | None:
    if plan.value_at is not None:
        value = values[plan.value_at]
        if value is None:
            return None
        text = encoded[plan.value_at] if encoded is not None else _value_json(value)
        return strip_json_nul(text) if "\\u0000" in text else text
    if plan.under:
        return json_text(n.unflatten({name: values[index] for name, index in plan.under}))
    if plan.messages:
        return json_text(
            {"messages": [{name: values[index] for name, index in message} for message in plan.messages]}
        )
    return None


def _first(values: Sequence[Any], at: tuple[int, ...]) -> Any:
    for index in at:
        value = values[index]
        if value is not None and value != "":
            return value
    return None


def _first_str(values: Sequence[Any], at: tuple[int, ...]) -> str | None:
    value = _first(values, at) if at else None
    return None if value is None else str(value)


def _first_int(values: Sequence[Any], at: tuple[int, ...]) -> int | None:
    value = _first(values, at) if at else None
    try:
        return None if value is None else int(float(value))
    except (TypeError, ValueError):
        return None


def _first_float(values: Sequence[Any], at: tuple[int, ...]) -> float | None:
    value = _first(values, at) if at else None
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


@dataclass
class SpanLines:
    """The COPY lines (SPAN_COLUMNS order, no line break) of a request's spans, produced lazily."""

    project_id: uuid.UUID
    request: Any
    plans: dict[tuple[str, ...], ShapePlan] = field(default_factory=dict)
    spans: int = 0

    def __iter__(self) -> Iterator[str]:
        project = str(self.project_id)
        seconds_text: dict[int, str] = {}
        for resource_spans in self.request.resource_spans:
            resource = escape(
                json_text(n.unflatten(attributes_of(resource_spans.resource.attributes))) or "{}"
            )
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    if len(span.trace_id) == TRACE_ID_BYTES and len(span.span_id) == SPAN_ID_BYTES:
                        yield self._line(project, span, resource, seconds_text)

    def _plan(self, keys: tuple[str, ...]) -> ShapePlan:
        plan = self.plans.get(keys)
        if plan is None:
            if len(self.plans) >= SHAPE_PLANS_MAX:
                self.plans.clear()
            plan = self.plans[keys] = plan_shape(keys)
        return plan

    def _line(self, project: str, span: Any, resource: str, seconds_text: dict[int, str]) -> str:
        keys: list[str] = []
        values: list[Any] = []
        for item in span.attributes:
            keys.append(item.key)
            value = item.value
            # Most values are strings: read those without value_of's call and getattr.
            values.append(
                value.string_value if value.WhichOneof("value") == "string_value" else value_of(value)
            )
        found = normalized(self._plan(tuple(keys)), values)
        trace_id: str = span.trace_id.hex()
        status = int(span.status.code)
        status_code = STATUS_CODES[status] if 0 <= status < len(STATUS_CODES) else STATUS_CODES[0]
        self.spans += 1
        kind = int(span.kind)
        start = int(span.start_time_unix_nano)
        end = int(span.end_time_unix_nano or start)
        parent = span.parent_span_id
        return "\t".join(
            (
                project,
                trace_id,
                span.span_id.hex(),
                parent.hex() if len(parent) == SPAN_ID_BYTES else COPY_NULL,
                found.trace_type,
                found.span_type,
                SPAN_KINDS[kind] if 0 <= kind < len(SPAN_KINDS) else SPAN_KINDS[0],
                _text(span.name),
                timestamp(start, seconds_text),
                timestamp(end, seconds_text),
                str(max(end - start, 0) / NANOS_PER_MS),
                status_code,
                _text(span.status.message or None),
                _text(found.session_id),
                _text(found.user_id),
                _text(found.model),
                _number(found.prompt_tokens),
                _number(found.completion_tokens),
                _number(found.total_tokens),
                _number(found.cost),
                escape(found.inputs) if found.inputs is not None else COPY_NULL,
                escape(found.outputs) if found.outputs is not None else COPY_NULL,
                escape(found.attributes),
                resource,
                escape(json_text(events_of(span.events)) or EMPTY_LIST_JSON)
                if span.events
                else EMPTY_LIST_JSON,
                escape(json_text(links_of(span.links)) or EMPTY_LIST_JSON) if span.links else EMPTY_LIST_JSON,
            )
        )


def events_of(events: Any) -> list[dict[str, Any]]:
    return [
        {
            "name": event.name,
            "timestamp": timestamp(int(event.time_unix_nano)),
            "attributes": attributes_of(event.attributes),
        }
        for event in events
    ]


def links_of(links: Any) -> list[dict[str, Any]]:
    return [
        {
            "trace_id": link.trace_id.hex(),
            "span_id": link.span_id.hex(),
            "attributes": attributes_of(link.attributes),
        }
        for link in links
    ]


def _number(value: float | None) -> str:
    return COPY_NULL if value is None else str(value)


def _text(value: str | None) -> str:
    """A text field: Postgres text holds no NUL character."""
    if value is None:
        return COPY_NULL
    return escape(value.replace("\x00", "") if "\x00" in value else value)


def escape(value: str) -> str:
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


def timestamp(unix_nano: int, seconds_text: dict[int, str] | None = None) -> str:
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


def json_text(value: Any) -> str | None:
    if value is None:
        return None
    return strip_json_nul(_JSON_ENCODER.encode(value))


# A JSON \u0000 escape that is not itself escaped: Postgres' jsonb refuses NUL characters.
_JSON_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def strip_json_nul(text: str) -> str:
    return _JSON_NUL.sub(r"\1", text) if "\\u0000" in text else text
