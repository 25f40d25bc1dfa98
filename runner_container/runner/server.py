"""The runner's HTTP service.

Today it answers health checks only. Agent runs arrive as routes added to `ROUTES` (POST /run streaming
NDJSON events, POST /kill), each a thin handler over a module of its own (sandbox, workspace sync, records).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from runner import __version__


async def health(request: Request) -> JSONResponse:
    """Liveness for ECS, `lamina up` and the API: the process serves requests."""
    return JSONResponse({"status": "ok", "version": __version__})


ROUTES = [
    Route("/health", health, methods=["GET"]),
]


def create_app() -> Starlette:
    return Starlette(routes=ROUTES)
