"""The Services API's FastAPI application: `/services/{completion,chat}/v0/{invoke,inspect,health}`.

litellm is imported only when an invoke needs it (by `lamina.services.llm`), never by health or inspect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request, Response

from lamina import __version__
from lamina.api.errors import install_error_handlers
from lamina.auth.deps import ProjectViewer, SessionDep
from lamina.services.schemas import InspectRequest, InvokeRequest, InvokeResponse, ServiceKind

if TYPE_CHECKING:
    from lamina.services import interface, service
else:
    from lamina.lazy import lazy_module

    interface = lazy_module("lamina.services.interface")
    service = lazy_module("lamina.services.service")

SERVICES_PREFIX = "/services"
SERVICE_KINDS: tuple[ServiceKind, ...] = ("completion", "chat")
TRACEPARENT_HEADER = "traceparent"


def _add_routes(app: FastAPI, kind: ServiceKind) -> None:
    base = f"{SERVICES_PREFIX}/{kind}/v0"

    @app.get(f"{base}/health", tags=[kind], name=f"{kind}_health")
    def health() -> dict[str, str]:
        return {"status": "ok", "service": kind, "version": __version__}

    @app.post(f"{base}/inspect", tags=[kind], name=f"{kind}_inspect", response_model=None)
    def inspect(body: InspectRequest | None = None) -> dict[str, Any]:
        return interface.inspect(kind, body)

    @app.post(f"{base}/invoke", tags=[kind], name=f"{kind}_invoke", response_model=InvokeResponse)
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
            kind, body, principal.project_id, trace, local=get_settings().is_local
        )
        return result


def create_app() -> FastAPI:
    app = FastAPI(
        title="Lamina Services",
        version=__version__,
        openapi_url=f"{SERVICES_PREFIX}/openapi.json",
        docs_url=f"{SERVICES_PREFIX}/docs",
        redoc_url=None,
    )
    install_error_handlers(app)
    for kind in SERVICE_KINDS:
        _add_routes(app, kind)
    return app
