"""The API backend's FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI

from lamina import __version__
from lamina.api import health
from lamina.api.body import BodyGuard
from lamina.api.errors import install_error_handlers
from lamina.applications import routes as applications
from lamina.applications import workflows
from lamina.auth import routes as auth
from lamina.evaluations import routes as evaluations
from lamina.evaluators import routes as evaluators
from lamina.events import routes as events
from lamina.secrets import routes as secrets
from lamina.sessions import routes as sessions
from lamina.tenancy import routes as tenancy
from lamina.testsets import routes as testsets
from lamina.tracing import routes as tracing
from lamina.triggers import routes as triggers
from lamina.webhooks import routes as webhooks

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
    app.add_middleware(BodyGuard)
    # /api/health stays unauthenticated: it declares no principal dependency.
    app.include_router(health.router, prefix=API_PREFIX)
    # /api/auth/config too: the sign-in page reads it before it holds a credential.
    app.include_router(auth.router, prefix=API_PREFIX)
    app.include_router(tenancy.router, prefix=API_PREFIX)
    app.include_router(tenancy.keys_router, prefix=API_PREFIX)
    app.include_router(applications.router, prefix=API_PREFIX)
    app.include_router(applications.simple_router, prefix=API_PREFIX)
    app.include_router(workflows.router, prefix=API_PREFIX)
    app.include_router(secrets.router, prefix=API_PREFIX)
    app.include_router(sessions.router, prefix=API_PREFIX)
    app.include_router(events.router, prefix=API_PREFIX)
    app.include_router(tracing.router, prefix=API_PREFIX)
    app.include_router(triggers.router, prefix=API_PREFIX)
    app.include_router(webhooks.router, prefix=API_PREFIX)
    app.include_router(evaluations.router, prefix=API_PREFIX)
    app.include_router(evaluations.simple_router, prefix=API_PREFIX)
    app.include_router(testsets.router, prefix=API_PREFIX)
    app.include_router(evaluators.router, prefix=API_PREFIX)
    return app


def prime_for_snapshot() -> None:
    """SnapStart priming: load what the first request would, before the snapshot is taken.

    Imports the lazily loaded service modules and builds the clients (no connections: a snapshot must not
    carry sockets), so a restored container answers its first request warm. A failure only loses the
    priming, never the function.
    """
    import importlib
    import logging

    try:
        for module in (
            "lamina.applications.service",
            "lamina.applications.simple",
            "lamina.tenancy.service",
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

        aws.client("s3")
        aws.client("sqs")
        get_engine()
        get_redis()
    except Exception:
        logging.getLogger(__name__).warning("SnapStart priming failed", exc_info=True)
