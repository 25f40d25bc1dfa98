"""The runner's HTTP service: `GET /health`, `POST /run` (alias `/stream`), `POST /kill`.

`/run` and `/kill` take `Authorization: Bearer <runner token>` (LAMINA_RUNNER_TOKEN, or the token derived
from LAMINA_SECRET_KEY that the API derives too). `/run` with `Accept: application/x-ndjson` streams the
turn's event lines then one result line; otherwise it answers the result as JSON once the turn ends.
Each handler is thin: the turn itself is `runner.runs`.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from runner import __version__
from runner.config import RunnerConfig

if TYPE_CHECKING:
    from runner.runs import Turns

NDJSON = "application/x-ndjson"
MAX_BODY_BYTES = 32 * 1024 * 1024


async def health(request: Request) -> JSONResponse:
    """Liveness for ECS, `lamina up` and the API: the process serves requests."""
    turns = getattr(request.app.state, "turns", None)
    running = len(turns.running) if turns is not None else 0
    return JSONResponse({"status": "ok", "version": __version__, "running": running})


def _turns(request: Request) -> Turns:
    state = request.app.state
    if getattr(state, "turns", None) is None:
        from runner.runs import Turns

        state.turns = Turns(state.config)
    turns: Turns = state.turns
    return turns


def _unauthorized(request: Request) -> JSONResponse | None:
    from lamina.settings import get_settings

    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    expected = get_settings().runner_bearer_token
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        return JSONResponse({"detail": "a valid runner token is required (Authorization: Bearer ...)"}, 401)
    return None


async def _body(request: Request, model: Any) -> Any:
    from pydantic import ValidationError

    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        return JSONResponse({"detail": "request body too large"}, 413)
    try:
        return model.model_validate_json(raw or b"{}")
    except ValidationError as error:
        return JSONResponse({"detail": error.errors(include_url=False, include_context=False)}, 422)


async def run(request: Request) -> Response:
    """Start a turn; stream its events (NDJSON) or answer its result."""
    from runner.protocol import RunRequest
    from runner.runs import AdmissionError

    denied = _unauthorized(request)
    if denied is not None:
        return denied
    body = await _body(request, RunRequest)
    if isinstance(body, Response):
        return body
    try:
        turn = _turns(request).admit(body)
    except AdmissionError as error:
        headers = {"Retry-After": "5"} if error.status == 429 else None
        return JSONResponse({"detail": str(error)}, error.status, headers=headers)
    if NDJSON in (request.headers.get("accept") or ""):
        return StreamingResponse(turn.stream(), media_type=NDJSON)
    assert turn.task is not None
    import asyncio

    await asyncio.shield(turn.task)
    return JSONResponse(turn.result)


async def kill(request: Request) -> Response:
    """End a session's running turn: its harness is killed, its workspace still synced back."""
    from runner.protocol import KillRequest

    denied = _unauthorized(request)
    if denied is not None:
        return denied
    body = await _body(request, KillRequest)
    if isinstance(body, Response):
        return body
    killed = _turns(request).kill(body.session_id)
    return JSONResponse({"session_id": str(body.session_id), "killed": killed}, 200 if killed else 404)


ROUTES = [
    Route("/health", health, methods=["GET"]),
    Route("/run", run, methods=["POST"]),
    Route("/stream", run, methods=["POST"]),
    Route("/kill", kill, methods=["POST"]),
]


def create_app(config: RunnerConfig | None = None) -> Starlette:
    app = Starlette(routes=ROUTES)
    app.state.config = config or RunnerConfig.from_env()
    app.state.turns = None
    return app
