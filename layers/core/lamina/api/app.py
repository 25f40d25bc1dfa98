"""The API backend's FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI

from lamina import __version__
from lamina.api import health
from lamina.api.errors import install_error_handlers

API_PREFIX = "/api"


def create_app() -> FastAPI:
    app = FastAPI(
        title="Lamina API",
        version=__version__,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    install_error_handlers(app)
    app.include_router(health.router, prefix=API_PREFIX)
    return app
