"""The API backend's FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI

from lamina import __version__
from lamina.api import health
from lamina.api.errors import install_error_handlers
from lamina.applications import routes as applications
from lamina.secrets import routes as secrets
from lamina.tenancy import routes as tenancy

API_PREFIX = "/api"
API_DESCRIPTION = (
    "Authenticate with `Authorization: Bearer <Cognito JWT>` or `Authorization: ApiKey <prefix>.<secret>`. "
    "Every route acts in one project: the API key's, or `?project_id=<uuid>` / `X-Project-Id: <uuid>`, "
    "else the signed-in user's default project."
)


def create_app() -> FastAPI:
    app = FastAPI(
        title="Lamina API",
        version=__version__,
        description=API_DESCRIPTION,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    install_error_handlers(app)
    # /api/health stays unauthenticated: it declares no principal dependency.
    app.include_router(health.router, prefix=API_PREFIX)
    app.include_router(tenancy.router, prefix=API_PREFIX)
    app.include_router(tenancy.keys_router, prefix=API_PREFIX)
    app.include_router(applications.router, prefix=API_PREFIX)
    app.include_router(applications.simple_router, prefix=API_PREFIX)
    app.include_router(secrets.router, prefix=API_PREFIX)
    return app
