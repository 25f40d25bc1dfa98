"""OTLP/HTTP trace bodies: decompression within bounds, protobuf and JSON decoding, the export response.

opentelemetry-proto (and protobuf under it) is imported here only, on first use: never on the API's cold start.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lamina.errors import LaminaError, PayloadTooLargeError

if TYPE_CHECKING:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

# What the endpoint accepts on the wire (compressed or not): API Gateway's payload limit is 10 MB, Lambda's 6 MB.
OTLP_MAX_BODY_BYTES = 5 * 1024 * 1024
# The most a body may decompress to: bounds a gzip bomb, and what one worker invocation decodes.
OTLP_MAX_DECOMPRESSED_BYTES = 20 * 1024 * 1024
PROTOBUF = "application/x-protobuf"
JSON = "application/json"
TRACE_ID_BYTES = 16
SPAN_ID_BYTES = 8
STATUS_CODES = ("STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR")
SPAN_KINDS = (
    "SPAN_KIND_UNSPECIFIED",
    "SPAN_KIND_INTERNAL",
    "SPAN_KIND_SERVER",
    "SPAN_KIND_CLIENT",
    "SPAN_KIND_PRODUCER",
    "SPAN_KIND_CONSUMER",
)


class MalformedOtlpError(LaminaError):
    status_code = 400
    code = "malformed_otlp"


class UnsupportedMediaTypeError(LaminaError):
    status_code = 415
    code = "unsupported_media_type"


@dataclass
class DecodedSpan:
    """One OTLP span, ids as lower-case hex, attributes as a flat `{dotted.key: value}` map."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: str
    start_unix_nano: int
    end_unix_nano: int
    status_code: str
    status_message: str | None
    attributes: dict[str, Any]
    resource: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class DecodedBatch:
    spans: list[DecodedSpan]
    rejected: int
    error_message: str = ""
    accepted: int = 0


def media_type(content_type: str | None) -> str:
    """The body's format from its Content-Type: protobuf (OTLP's default) or JSON; 415 for anything else."""
    kind = (content_type or PROTOBUF).split(";", 1)[0].strip().lower()
    if kind in (PROTOBUF, "application/protobuf", "application/octet-stream", ""):
        return PROTOBUF
    if kind == JSON:
        return JSON
    raise UnsupportedMediaTypeError(f"OTLP bodies are {PROTOBUF} or {JSON}, not {kind!r}")


def decompress(body: bytes, content_encoding: str | None) -> bytes:
    """The body with its Content-Encoding undone, refusing anything beyond OTLP_MAX_DECOMPRESSED_BYTES."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("identity", ""):
        return body
    if encoding not in ("gzip", "deflate"):
        raise UnsupportedMediaTypeError(f"Content-Encoding {encoding!r} is not supported (gzip, deflate)")
    # 16 + MAX_WBITS reads a gzip header; 32 + MAX_WBITS detects zlib or gzip (some clients mislabel).
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else 32 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, OTLP_MAX_DECOMPRESSED_BYTES + 1)
    except zlib.error as error:
        raise MalformedOtlpError(f"the body is not valid {encoding}: {error}") from error
    if len(out) > OTLP_MAX_DECOMPRESSED_BYTES or inflater.unconsumed_tail:
        raise PayloadTooLargeError(f"the body decompresses to more than {OTLP_MAX_DECOMPRESSED_BYTES} bytes")
    return out


def parse_request(body: bytes, kind: str) -> ExportTraceServiceRequest:
    """The ExportTraceServiceRequest in `body`; MalformedOtlpError when it is not one."""
    from google.protobuf import json_format
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    try:
        if kind == JSON:
            json_format.ParseDict(_hex_ids_to_base64(json.loads(body)), request, ignore_unknown_fields=True)
        else:
            request.ParseFromString(body)
    except (DecodeError, json_format.ParseError, ValueError, TypeError, AttributeError) as error:
        raise MalformedOtlpError(f"not an OTLP ExportTraceServiceRequest: {error}") from error
    return request


def decode(request: ExportTraceServiceRequest) -> DecodedBatch:
    """Every well-formed span of the request; spans without valid ids are counted as rejected."""
    spans: list[DecodedSpan] = []
    rejected = 0
    for resource_spans in request.resource_spans:
        resource = attributes_of(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                if len(span.trace_id) != TRACE_ID_BYTES or len(span.span_id) != SPAN_ID_BYTES:
                    rejected += 1
                    continue
                spans.append(_decoded(span, resource))
    message = f"{rejected} spans without a 16-byte trace_id and an 8-byte span_id" if rejected else ""
    return DecodedBatch(spans=spans, rejected=rejected, error_message=message, accepted=len(spans))


def iter_decoded(request: ExportTraceServiceRequest) -> Iterator[DecodedSpan]:
    """`decode`'s spans one at a time (the rejected skipped): the worker converts them while COPY runs."""
    for resource_spans in request.resource_spans:
        resource = attributes_of(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                if len(span.trace_id) == TRACE_ID_BYTES and len(span.span_id) == SPAN_ID_BYTES:
                    yield _decoded(span, resource)


def count_spans(request: ExportTraceServiceRequest) -> DecodedBatch:
    """What `decode` would keep and reject, without converting a span: the endpoint answers before the worker
    decodes (the spans list stays empty; `rejected` and the message are exact)."""
    accepted = rejected = 0
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                if len(span.trace_id) != TRACE_ID_BYTES or len(span.span_id) != SPAN_ID_BYTES:
                    rejected += 1
                else:
                    accepted += 1
    message = f"{rejected} spans without a 16-byte trace_id and an 8-byte span_id" if rejected else ""
    return DecodedBatch(spans=[], rejected=rejected, error_message=message, accepted=accepted)


def export_response(kind: str, rejected: int, error_message: str) -> bytes:
    """The ExportTraceServiceResponse, in the request's format; `partial_success` names rejected spans."""
    from google.protobuf import json_format
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

    response = ExportTraceServiceResponse()
    if rejected:
        response.partial_success.rejected_spans = rejected
        response.partial_success.error_message = error_message
    if kind == JSON:
        return json.dumps(json_format.MessageToDict(response)).encode()
    return bytes(response.SerializeToString())


def _decoded(span: Any, resource: dict[str, Any]) -> DecodedSpan:
    status = int(span.status.code)
    return DecodedSpan(
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_id=span.parent_span_id.hex() if len(span.parent_span_id) == SPAN_ID_BYTES else None,
        name=span.name,
        kind=SPAN_KINDS[span.kind] if 0 <= span.kind < len(SPAN_KINDS) else SPAN_KINDS[0],
        start_unix_nano=int(span.start_time_unix_nano),
        end_unix_nano=int(span.end_time_unix_nano or span.start_time_unix_nano),
        status_code=STATUS_CODES[status] if 0 <= status < len(STATUS_CODES) else STATUS_CODES[0],
        status_message=span.status.message or None,
        attributes=attributes_of(span.attributes),
        resource=resource,
        events=[
            {
                "name": event.name,
                "timestamp": _iso_from_nanos(int(event.time_unix_nano)),
                "attributes": attributes_of(event.attributes),
            }
            for event in span.events
        ],
        links=[
            {
                "trace_id": link.trace_id.hex(),
                "span_id": link.span_id.hex(),
                "attributes": attributes_of(link.attributes),
            }
            for link in span.links
        ],
    )


def attributes_of(key_values: Iterator[KeyValue] | Any) -> dict[str, Any]:
    return {kv.key: value_of(kv.value) for kv in key_values}


def value_of(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [value_of(item) for item in value.array_value.values]
    if which == "kvlist_value":
        return attributes_of(value.kvlist_value.values)
    if which == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, which)


def _iso_from_nanos(nanos: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(nanos / 1e9, UTC).isoformat()


def _hex_ids_to_base64(document: Any) -> Any:
    """OTLP/JSON spells trace and span ids in hex; protobuf's JSON mapping expects base64 for bytes."""
    if not isinstance(document, dict):
        raise MalformedOtlpError("an OTLP/JSON body is an object")
    for resource_spans in document.get("resourceSpans") or []:
        for scope_spans in resource_spans.get("scopeSpans") or []:
            for span in scope_spans.get("spans") or []:
                _convert_ids(span, ("traceId", "spanId", "parentSpanId"))
                for link in span.get("links") or []:
                    _convert_ids(link, ("traceId", "spanId"))
    return document


def _convert_ids(item: dict[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        raw = item.get(name)
        if isinstance(raw, str) and raw:
            try:
                item[name] = base64.b64encode(bytes.fromhex(raw)).decode()
            except ValueError as error:
                raise MalformedOtlpError(f"{name} {raw!r} is not hex") from error
