"""The control endpoint of a running `lamina up` (loopback only): what `lamina invoke` and `lamina status` call.

GET  /status                      functions, event-source mappings, schedules, routes
POST /invoke/{function}           body = the event; answers the function's result or error
POST /schedules/{name}/fire       runs a schedule now
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import uvicorn

if TYPE_CHECKING:
    from lamina_local.up import LocalStack

MAX_EVENT_BYTES = 6 * 1024 * 1024  # Lambda's synchronous invocation payload limit


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside the supervisor's loop: the supervisor owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


class ControlServer:
    def __init__(self, stack: LocalStack, host: str = "127.0.0.1", port: int = 0) -> None:
        self.stack = stack
        self.host = host
        self.port = port
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        config = uvicorn.Config(self, host=self.host, port=self.port, lifespan="off", log_level="warning")
        self._server = _EmbeddedServer(config)
        self._task = asyncio.create_task(self._server.serve(), name="control")
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, timeout=5)

    def status(self) -> dict[str, Any]:
        stack = self.stack
        return {
            "ready": _plain(stack.ready) if stack.ready else None,
            "backends": stack.supervisor.stats() if stack.supervisor else {},
            "functions": stack.runtime.stats() if stack.runtime else {},
            "sqs": _plain(stack.pollers.stats()) if stack.pollers else {},
            "schedules": _plain(stack.scheduler.stats()) if stack.scheduler else {},
            "http": {gateway.url: dict(gateway.requests_per_route) for gateway in stack.gateways},
        }

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > MAX_EVENT_BYTES:
                await self._reply(send, 413, {"message": "event larger than 6 MB"})
                return
            if not message.get("more_body"):
                break
        method, parts = scope["method"], [p for p in scope["path"].split("/") if p]
        try:
            if method == "GET" and parts == ["status"]:
                await self._reply(send, 200, self.status())
            elif method == "POST" and len(parts) == 2 and parts[0] == "invoke":
                await self._invoke(send, parts[1], body)
            elif method == "POST" and len(parts) == 3 and parts[0] == "schedules" and parts[2] == "fire":
                result = await self.stack.scheduler.fire_now(parts[1])
                await self._reply(send, 200, {"fired": parts[1], "ok": bool(result and result.ok)})
            else:
                await self._reply(send, 404, {"message": "not found"})
        except KeyError as error:
            await self._reply(send, 404, {"message": f"unknown: {error}"})

    async def _invoke(self, send: Any, function: str, body: bytes) -> None:
        if function not in (self.stack.stack.functions if self.stack.stack else {}):
            await self._reply(send, 404, {"message": f"no function {function} in the template"})
            return
        try:
            json.loads(body or b"{}")
        except json.JSONDecodeError as error:
            await self._reply(send, 400, {"message": f"the event is not JSON: {error}"})
            return
        result = await self.stack.runtime.invoke(function, body or b"{}")
        await self._reply(
            send,
            200,
            {
                "ok": result.ok,
                "error_type": result.error_type,
                "cold_start": result.cold_start,
                "duration_ms": round(result.duration_ms, 2),
                "request_id": result.request_id,
                "payload": result.payload.decode(errors="replace"),
            },
        )

    @staticmethod
    async def _reply(send: Any, status: int, body: Any) -> None:
        data = json.dumps(body, default=str).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})
