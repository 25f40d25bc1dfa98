"""Refuse request bodies no route could use, before any route sees them: one guard for every JSON route of
the API and Services apps.

FastAPI turns most unreadable bodies into a 400 or 422 by itself, but some readable ones still reach the
database and fail there as a 500: Postgres stores no NUL character in text or JSONB, and no NaN in JSONB.
The guard answers 400, naming the problem, for a JSON body that is not UTF-8, nests deeper than the parser
goes, holds a number too long to read, NaN or Infinity, or a NUL character. Invalid JSON syntax is left to
FastAPI (a 422 with its position).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse

from lamina.api.errors import error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ESCAPED_NUL = "\\u0000"


class UnusableBody(ValueError):
    """A request body no route can use; its message says why."""


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return True  # FastAPI reads an untyped body as JSON
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(key) or _contains_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_contains_nul(item) for item in value)
    return False


def _refuse_constant(name: str) -> Any:
    # Python's parser accepts NaN and Infinity; JSON (and Postgres' JSONB) does not.
    raise UnusableBody(f"{name} is not a JSON number")


def check_json_body(body: bytes) -> None:
    """Raise UnusableBody when `body` cannot be a JSON request for any route (see the module docstring)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        byte = body[error.start : error.start + 1].hex()
        raise UnusableBody(
            f"the request body is not valid UTF-8 (byte 0x{byte} at position {error.start})"
        ) from error
    try:
        parsed = json.loads(text, parse_constant=_refuse_constant)
    except UnusableBody:
        raise
    except json.JSONDecodeError:
        return  # FastAPI answers it with a 422 that points at the error
    except RecursionError as error:
        raise UnusableBody("the request body nests too deeply") from error
    except ValueError as error:  # an integer past Python's digit limit
        raise UnusableBody(f"a number in the request body is too long: {error}") from error
    if ESCAPED_NUL in text and _contains_nul(parsed):
        raise UnusableBody("text in the request body may not contain the NUL character (\\u0000)")


class BodyGuard:
    """ASGI middleware: reads a JSON request's body, refuses it with a 400 if unusable, else replays it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_json(Headers(scope=scope).get("content-type")):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body:
            try:
                check_json_body(body)
            except UnusableBody as error:
                response = JSONResponse(error_body(400, "invalid_body", str(error)), status_code=400)
                await response(scope, receive, send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
