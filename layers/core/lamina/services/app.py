"""The Services API's FastAPI application. litellm is imported only when a call needs it."""

from __future__ import annotations

from fastapi import FastAPI

from lamina import __version__
from lamina.api.errors import install_error_handlers

SERVICES_PREFIX = "/services"
SERVICE_KINDS = ("completion", "chat")


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

        @app.get(f"{SERVICES_PREFIX}/{kind}/v0/health", tags=[kind], name=f"{kind}_health")
        def health(kind: str = kind) -> dict[str, str]:
            return {"status": "ok", "service": kind, "version": __version__}

    return app
