"""`/api/otlp/v1/traces`, `/api/spans/query`, `/api/traces/{trace_id}` (and their `/api/tracing/...` twins)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from lamina.api.deps import ProjectEditor, ProjectsManager, ProjectViewer, SessionDep
from lamina.api.routing import DeferredRouter
from lamina.errors import NotFoundError, PayloadTooLargeError
from lamina.tracing import schemas

if TYPE_CHECKING:
    from lamina.tracing import analytics, otlp, project_settings, query, service
else:
    from lamina.lazy import lazy_module

    analytics = lazy_module("lamina.tracing.analytics")
    otlp = lazy_module("lamina.tracing.otlp")
    project_settings = lazy_module("lamina.tracing.project_settings")
    query = lazy_module("lamina.tracing.query")
    service = lazy_module("lamina.tracing.service")

router = DeferredRouter(tags=["tracing"])
# Mirrors OTLP_MAX_BODY_BYTES without importing the decoding module at cold start.
OTLP_MAX_BODY_BYTES = 5 * 1024 * 1024
OTLP_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "An ExportTraceServiceResponse (protobuf or JSON, as the request)",
        "model": schemas.ExportTraceServiceResponse,
        "content": {"application/x-protobuf": {}},
    }
}


async def _bounded_body(request: Request) -> bytes:
    """The request body, refusing (413) anything past OTLP_MAX_BODY_BYTES before reading it all."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > OTLP_MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"OTLP bodies are at most {OTLP_MAX_BODY_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > OTLP_MAX_BODY_BYTES:
            raise PayloadTooLargeError(f"OTLP bodies are at most {OTLP_MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/otlp/v1/traces", response_class=Response, responses=OTLP_RESPONSES)
async def export_traces(request: Request, principal: ProjectEditor) -> Response:
    """OTLP/HTTP trace export: answered once the body is stored; the spans are queryable moments later."""
    body = await _bounded_body(request)
    answer = await run_in_threadpool(
        service.accept_export,
        principal.project_id,
        body,
        request.headers.get("content-type"),
        request.headers.get("content-encoding"),
    )
    return Response(content=answer.body, media_type=answer.media_type)


@router.post("/spans/query", response_model=schemas.SpansQueryResponse)
@router.post("/tracing/spans/query", response_model=schemas.SpansQueryResponse)
def query_spans(
    body: schemas.SpansQuery, session: SessionDep, principal: ProjectViewer
) -> schemas.SpansQueryResponse:
    return query.query_spans(session, principal.project_id, body)


@router.post("/spans/analytics/query", response_model=schemas.AnalyticsResponse)
@router.post("/tracing/spans/analytics/query", response_model=schemas.AnalyticsResponse)
def spans_analytics(
    body: schemas.SpansAnalyticsQuery, session: SessionDep, principal: ProjectViewer
) -> schemas.AnalyticsResponse:
    return analytics.spans_analytics(session, principal.project_id, body)


@router.get("/traces/{trace_id}", response_model=schemas.TraceResponse)
def fetch_trace(trace_id: str, session: SessionDep, principal: ProjectViewer) -> schemas.TraceResponse:
    trace = query.fetch_trace(session, principal.project_id, trace_id)
    if trace is None:
        raise NotFoundError(f"trace {trace_id} not found")
    return schemas.TraceResponse(count=1, trace=trace)


@router.get("/tracing/traces/{trace_id}", response_model=schemas.TraceResponse)
def fetch_tracing_trace(
    trace_id: str, session: SessionDep, principal: ProjectViewer
) -> schemas.TraceResponse:
    """The trace, also under `traces` keyed by its id: the shape Agenta's SDK reads at this path."""
    answer = fetch_trace(trace_id, session, principal)
    return answer.model_copy(update={"traces": {trace_id: answer.trace}})


def _settings_response(session: SessionDep, principal: ProjectViewer) -> schemas.TracingSettingsResponse:
    found = project_settings.tracing_settings(session, principal.project_id)
    view = schemas.TracingSettingsView(
        retention_days=found.retention_days,
        error_threshold=found.error_threshold,
        error_window_minutes=int(project_settings.TRACING_ERROR_WINDOW.total_seconds() // 60),
        retention_is_default=found.retention_is_default,
        error_threshold_is_default=found.error_threshold_is_default,
    )
    return schemas.TracingSettingsResponse(count=1, settings=view)


@router.get("/tracing/settings", response_model=schemas.TracingSettingsResponse)
def fetch_tracing_settings(session: SessionDep, principal: ProjectViewer) -> schemas.TracingSettingsResponse:
    """How long the project's spans are kept, and how many errors per window raise an event."""
    return _settings_response(session, principal)


@router.put("/tracing/settings", response_model=schemas.TracingSettingsResponse)
def edit_tracing_settings(
    body: schemas.TracingSettingsEdit, session: SessionDep, principal: ProjectsManager
) -> schemas.TracingSettingsResponse:
    """Change the project's span retention (days) or error threshold; null resets one to its default."""
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    project_settings.update_tracing_settings(session, principal.project_id, **changes)
    return _settings_response(session, principal)
