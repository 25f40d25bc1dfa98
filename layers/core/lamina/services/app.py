"""The Services API's FastAPI application. litellm is imported only when a call needs it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, get_args

from fastapi import FastAPI
from pydantic import BaseModel

from lamina import __version__
from lamina.api.body import BodyGuard
from lamina.api.errors import install_error_handlers

SERVICES_PREFIX = "/services"
ServiceKind = Literal["completion", "chat"]
SERVICE_KINDS: tuple[ServiceKind, ...] = get_args(ServiceKind)


class ServiceHealth(BaseModel):
    status: Literal["ok"]
    service: ServiceKind
    version: str


def _health_route(kind: ServiceKind) -> Callable[[], ServiceHealth]:
    def health() -> ServiceHealth:
        return ServiceHealth(status="ok", service=kind, version=__version__)

    return health


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
        app.get(f"{SERVICES_PREFIX}/{kind}/v0/health", tags=[kind], name=f"{kind}_health")(
            _health_route(kind)
        )
    return app
