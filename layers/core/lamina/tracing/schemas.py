"""Request and response shapes of the tracing routes, after Agenta's SDK client (`agenta/_client/types`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field

from lamina.api.schemas import Body, Model, View

SPANS_QUERY_DEFAULT_LIMIT = 100
SPANS_QUERY_MAX_LIMIT = 1000
# A filter tree deeper than this is refused rather than compiled into an unbounded SQL expression.
FILTER_MAX_DEPTH = 8

LogicalOperator = Literal["and", "or", "not", "nand", "nor"]


class Condition(Model):
    """One test on a span: `field` (a column, or `attributes` with a dotted `key`), an operator, a value."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    field: str
    key: str | None = None
    value: Any = None
    operator: str = "is"
    options: dict[str, Any] | None = None


class Filtering(Model):
    """Agenta's filter tree: conditions and nested trees joined by a logical operator."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    operator: LogicalOperator = "and"
    conditions: list[Condition | Filtering] = Field(default_factory=list)


class Windowing(Model):
    model_config = ConfigDict(extra="ignore", defer_build=True)

    newest: datetime | None = None
    oldest: datetime | None = None
    next: str | None = None
    limit: int | None = Field(default=None, ge=1, le=SPANS_QUERY_MAX_LIMIT)
    order: Literal["ascending", "descending"] = "descending"
    # Analytics only: the bucket width, in minutes.
    interval: int | None = Field(default=None, ge=1)


class SpansQuery(Model):
    """`focus: span` answers matching spans; `focus: trace` the whole trees of the traces they belong to."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    filtering: Filtering | None = None
    windowing: Windowing | None = None
    focus: Literal["span", "trace"] = "span"


class SpanView(Model):
    """A span as Agenta's `SpanOutput`; the normalised fields live under `attributes.ag` too."""

    trace_id: str
    span_id: str
    parent_id: str | None = None
    trace_type: str
    span_type: str
    span_kind: str
    span_name: str
    start_time: datetime
    end_time: datetime
    status_code: str
    status_message: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    events: list[dict[str, Any]] = Field(default_factory=list)
    links: list[dict[str, Any]] = Field(default_factory=list)
    created_at: datetime | None = None


class SpanNode(SpanView):
    """A span in a trace tree: its children keyed by name (a list where siblings share a name)."""

    spans: dict[str, SpanNode | list[SpanNode]] | None = None


class TraceView(Model):
    trace_id: str
    spans: dict[str, SpanNode | list[SpanNode]]


class WindowingNext(Model):
    next: str


class SpansQueryResponse(Model):
    count: int
    spans: list[SpanView] | None = None
    traces: list[TraceView] | None = None
    windowing: WindowingNext | None = None


class TraceResponse(Model):
    count: int
    trace: TraceView | None = None
    # Agenta's OTel shape of `/tracing/traces/{trace_id}` (`{trace_id: tree}`), what its SDK's evaluation
    # loop reads back after each step; set on that route only.
    traces: dict[str, TraceView] | None = None


ANALYTICS_DEFAULT_WINDOW_HOURS = 24
ANALYTICS_DEFAULT_INTERVAL_MINUTES = 60
ANALYTICS_MAX_BUCKETS = 1000


class SpansAnalyticsQuery(Model):
    """Matching spans aggregated by time bucket: `windowing.interval` is the bucket width in minutes."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    filtering: Filtering | None = None
    windowing: Windowing | None = None


class Analytics(Model):
    count: int
    duration: float
    costs: float
    tokens: int


class Latency(Model):
    p50: float
    p95: float
    p99: float


class AnalyticsBucket(Model):
    timestamp: datetime
    interval: int
    total: Analytics
    errors: Analytics
    latency: Latency


class AnalyticsResponse(Model):
    count: int
    buckets: list[AnalyticsBucket]


class OtlpPartialSuccess(Model):
    """OTLP's partial success, as protobuf's JSON mapping writes it (int64 as a string, camelCase)."""

    rejectedSpans: str | None = None
    errorMessage: str | None = None


class ExportTraceServiceResponse(Model):
    """The JSON form of OTLP's ExportTraceServiceResponse: empty when every span was accepted."""

    partialSuccess: OtlpPartialSuccess | None = None


class TracingSettingsEdit(Body):
    """The settings to change; a field given as null goes back to its default, one left out stays as is."""

    retention_days: int | None = Field(default=None, ge=1, le=3650, description="days spans are kept")
    error_threshold: int | None = Field(
        default=None,
        ge=0,
        le=1_000_000,
        description="error spans per window that raise tracing.errors.threshold_exceeded; 0 turns it off",
    )


class TracingSettingsView(View):
    retention_days: int
    error_threshold: int
    error_window_minutes: int
    retention_is_default: bool
    error_threshold_is_default: bool


class TracingSettingsResponse(Model):
    count: int
    settings: TracingSettingsView
