"""The Services API's FastAPI application: `/services/{completion,chat}/v0/{invoke,inspect,health}`.

litellm is imported only when an invoke needs it (by `lamina.services.llm`), never by health or inspect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, get_args

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel

from lamina import __version__
from lamina.api.body import BodyGuard
from lamina.api.errors import error_body, install_error_handlers
from lamina.errors import LaminaError
from lamina.services.schemas import (
    InspectRequest,
    InspectResponse,
    InvokeRequest,
    InvokeResponse,
    ServiceKind,
)

if TYPE_CHECKING:
    from lamina.services import callers, interface, service, streaming
else:
    from lamina.lazy import lazy_module

    callers = lazy_module("lamina.services.callers")
    interface = lazy_module("lamina.services.interface")
    service = lazy_module("lamina.services.service")
    streaming = lazy_module("lamina.services.streaming")

SERVICES_PREFIX = "/services"
SERVICE_KINDS: tuple[ServiceKind, ...] = get_args(ServiceKind)
TRACEPARENT_HEADER = "traceparent"


class ServiceHealth(BaseModel):
    status: Literal["ok"]
    service: ServiceKind
    version: str


def _health_route(kind: ServiceKind) -> Callable[[], ServiceHealth]:
    def health() -> ServiceHealth:
        return ServiceHealth(status="ok", service=kind, version=__version__)

    return health


def _inspect_route(kind: ServiceKind) -> Callable[..., dict[str, Any]]:
    def inspect(body: InspectRequest | None = None) -> dict[str, Any]:
        return interface.inspect(kind, body)

    return inspect


def traced_error(error: LaminaError, trace: service.TraceContext) -> JSONResponse:
    """An invoke's error answer, linked to the failed run's trace like a success is."""
    body = error_body(error.status_code, error.code, error.message, error.details)
    body.update(trace_id=trace.trace_id, span_id=trace.span_id)
    return JSONResponse(body, status_code=error.status_code, headers={TRACEPARENT_HEADER: trace.traceparent})


def _invoke_route(kind: ServiceKind) -> Callable[..., Any]:
    async def invoke(body: InvokeRequest, request: Request, response: Response) -> Any:
        from lamina.settings import get_settings

        principal = callers.invoking_principal(request)
        trace = service.trace_context(request.headers.get(TRACEPARENT_HEADER))
        local = get_settings().is_local
        wire = streaming.requested_stream(request.headers.get("accept"), body.flags)
        try:
            if wire is not None:
                opened = await streaming.open_invocation_stream(kind, body, principal, trace, local=local)
                return StreamingResponse(
                    streaming.framed(opened.events(), wire),
                    media_type=streaming.MEDIA_TYPES[wire],
                    headers={TRACEPARENT_HEADER: trace.traceparent, **streaming.STREAM_HEADERS},
                )
            result: InvokeResponse = await service.invoke(kind, body, principal, trace, local=local)
        except LaminaError as error:
            return traced_error(error, trace)
        response.headers[TRACEPARENT_HEADER] = trace.traceparent
        return result

    return invoke


STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The invocation's answer; streamed events under `Accept: text/event-stream` "
        "(`data: <json>` frames) or `application/x-ndjson`, or with `flags.stream`.",
        "content": {
            "text/event-stream": {"schema": {"type": "string"}},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}


def create_app() -> FastAPI:
    app = FastAPI(
        title="Lamina Services",
        version=__version__,
        openapi_url=f"{SERVICES_PREFIX}/openapi.json",
        docs_url=f"{SERVICES_PREFIX}/docs",
        redoc_url=None,
    )
    install_error_handlers(app)
    app.add_middleware(BodyGuard)
    for kind in SERVICE_KINDS:
        base = f"{SERVICES_PREFIX}/{kind}/v0"
        app.get(f"{base}/health", tags=[kind], name=f"{kind}_health")(_health_route(kind))
        app.post(f"{base}/inspect", tags=[kind], name=f"{kind}_inspect", response_model=InspectResponse)(
            _inspect_route(kind)
        )
        app.post(
            f"{base}/invoke",
            tags=[kind],
            name=f"{kind}_invoke",
            response_model=InvokeResponse,
            responses=STREAM_RESPONSES,
        )(_invoke_route(kind))
    return app


def prime_for_snapshot() -> None:
    """SnapStart priming: import litellm (seconds, paid once at snapshot time instead of by the first
    invoke after a restore) and what an invoke loads, and build the clients without connecting.

    Only `register_before_snapshot` calls this: a plain cold start (and `health`) never imports litellm.
    A failure only loses the priming, never the function.
    """
    import importlib
    import logging

    try:
        for module in (
            "lamina.services.service",
            "lamina.services.providers",
            "lamina.services.references",
            "lamina.services.tracing",
            "lamina.applications.service",
            "lamina.secrets.service",
            "lamina.auth.service",
        ):
            importlib.import_module(module)
        from lamina import logs
        from lamina.api.schemas import build_deferred_validators

        build_deferred_validators()
        logs.prime()
        from lamina import aws
        from lamina.cache import get_redis
        from lamina.db import get_engine
        from lamina.services.llm import litellm

        litellm()
        aws.client("kms")
        aws.client("s3")
        aws.client("sqs")
        get_engine()
        get_redis()
    except Exception:
        logging.getLogger(__name__).warning("SnapStart priming failed", exc_info=True)
