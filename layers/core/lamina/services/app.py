"""The Services API's FastAPI application: `/services/{completion,chat}/v0/{invoke,inspect,health}`.

litellm is imported only when an invoke needs it (by `lamina.services.llm`), never by health or inspect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, get_args

from fastapi import FastAPI, Request, Response
from pydantic import BaseModel

from lamina import __version__
from lamina.api.body import BodyGuard
from lamina.api.deps import ProjectViewer, SessionDep
from lamina.api.errors import install_error_handlers
from lamina.services.schemas import (
    InspectRequest,
    InspectResponse,
    InvokeRequest,
    InvokeResponse,
    ServiceKind,
)

if TYPE_CHECKING:
    from lamina.services import interface, service
else:
    from lamina.lazy import lazy_module

    interface = lazy_module("lamina.services.interface")
    service = lazy_module("lamina.services.service")

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


def _invoke_route(kind: ServiceKind) -> Callable[..., Any]:
    async def invoke(
        body: InvokeRequest,
        request: Request,
        response: Response,
        session: SessionDep,
        principal: ProjectViewer,
    ) -> InvokeResponse:
        from starlette.concurrency import run_in_threadpool

        from lamina.db.unit_of_work import commit
        from lamina.settings import get_settings

        # Authentication is done: end its transaction (if it needed one) so no pooled connection waits on
        # the model. Usually it did not: API keys are verified from Redis.
        if session.in_transaction():
            await run_in_threadpool(commit, session)
        trace = service.trace_context(request.headers.get(TRACEPARENT_HEADER))
        response.headers[TRACEPARENT_HEADER] = trace.traceparent
        result: InvokeResponse = await service.invoke(
            kind, body, principal, trace, local=get_settings().is_local
        )
        return result

    return invoke


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
        app.post(f"{base}/invoke", tags=[kind], name=f"{kind}_invoke", response_model=InvokeResponse)(
            _invoke_route(kind)
        )
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
