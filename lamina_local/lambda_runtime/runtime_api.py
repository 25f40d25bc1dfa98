"""The Lambda Runtime API (2018-06-01) served on loopback for ONE worker process.

Why one endpoint (one port) per worker: the Runtime API has no notion of "which sandbox is asking" — every
worker calls the same fixed paths (`/2018-06-01/runtime/invocation/next`), and awslambdaric opens fresh
connections for some calls (init errors go through `http.client`, the rest through the C client's curl
handle). A listening port per worker makes the worker's identity the address it was given in
`AWS_LAMBDA_RUNTIME_API`, so an invocation is delivered to exactly the worker the pool chose, and a timeout
kills exactly the process that holds it. A loopback listening socket costs nothing worth counting.

The server is a small hand-written HTTP/1.1 loop on `asyncio.start_server` (keep-alive, TCP_NODELAY): the C
client keeps one connection open and alternates `GET next` / `POST response`, so per-invoke overhead is a few
hundred microseconds instead of the tens of milliseconds a thread-per-request `http.server` costs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import select
import socket
from dataclasses import dataclass

logger = logging.getLogger(__name__)

RUNTIME_API_PREFIX = "/2018-06-01/runtime"
NEXT_PATH = f"{RUNTIME_API_PREFIX}/invocation/next"
INIT_ERROR_PATH = f"{RUNTIME_API_PREFIX}/init/error"
RESTORE_NEXT_PATH = f"{RUNTIME_API_PREFIX}/restore/next"
RESTORE_ERROR_PATH = f"{RUNTIME_API_PREFIX}/restore/error"
INVOCATION_PREFIX = f"{RUNTIME_API_PREFIX}/invocation/"

# AWS rejects synchronous responses above 6 MB with Function.ResponseSizeTooLarge.
MAX_RESPONSE_BYTES = 6 * 1024 * 1024
# Anything larger than this in a request body is not a Lambda runtime talking to us.
MAX_REQUEST_BODY_BYTES = 8 * 1024 * 1024
MAX_HEADER_BYTES = 64 * 1024
ERROR_TYPE_HEADER = "lambda-runtime-function-error-type"

_REASONS = {
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    413: "Payload Too Large",
    500: "Internal Server Error",
}


@dataclass(frozen=True)
class InvocationOutcome:
    """What the worker reported: a response body, or an error JSON with its errorType."""

    ok: bool
    body: bytes
    error_type: str | None = None


@dataclass
class Invocation:
    """One event on its way to a worker; `outcome` resolves when the worker posts response or error."""

    request_id: str
    payload: bytes
    deadline_ms: int
    function_arn: str
    trace_id: str
    client_context: str | None
    cognito_identity: str | None
    outcome: asyncio.Future[InvocationOutcome]
    delivered: bool = False  # True once the /next response carrying it was written to the worker


class _BadRequest(Exception):
    pass


@dataclass
class _Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    keep_alive: bool = True


def error_body(error_type: str, message: str) -> bytes:
    return json.dumps({"errorMessage": message, "errorType": error_type}).encode()


def _response(status: int, body: bytes = b"", headers: tuple[tuple[str, str], ...] = ()) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers]
    # UTF-8, not latin-1: a caller's client context may hold any text, and curl passes header bytes through.
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


_ACCEPTED = _response(202, b'{"status":"OK"}', (("Content-Type", "application/json"),))


class RuntimeApiEndpoint:
    """The Runtime API as one worker sees it: deliver invocations on /next, collect their outcomes."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.port = 0
        # None once the worker asked for its first event ("ready"); an outcome if it reported an init error.
        self.initialised: asyncio.Future[InvocationOutcome | None] = (
            asyncio.get_running_loop().create_future()
        )
        self._pending: asyncio.Queue[Invocation] = asyncio.Queue()
        self._current: Invocation | None = None
        self._server: asyncio.Server | None = None
        self._connection_tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._closed = False

    async def start(self) -> int:
        self._server = await asyncio.start_server(
            self._serve_connection, host="127.0.0.1", port=0, limit=MAX_HEADER_BYTES
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def assign(self, invocation: Invocation) -> None:
        """Queue an invocation for this worker's next (or already waiting) /next request."""
        self._pending.put_nowait(invocation)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._connection_tasks):
            task.cancel()
        if self._connection_tasks:
            await asyncio.wait(list(self._connection_tasks), timeout=1.0)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), timeout=1.0)
        if not self.initialised.done():
            self.initialised.cancel()

    # -- HTTP -------------------------------------------------------------------------------------------

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connection_tasks.add(task)
        self._writers.add(writer)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while not self._closed:
                request = await self._read_request(reader, writer)
                if request is None:
                    break
                await self._route(request, reader, writer)
                if not request.keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, _BadRequest) as exc:
            logger.debug("runtime api %s: connection dropped: %r", self.label, exc)
        except asyncio.CancelledError:
            pass
        except Exception:
            logger.exception("runtime api %s: request failed", self.label)
        finally:
            self._writers.discard(writer)
            self._connection_tasks.discard(task)
            writer.close()

    async def _read_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> _Request | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if exc.partial.strip():
                raise _BadRequest("truncated request head") from exc
            return None
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            raise _BadRequest(f"bad request line {lines[0]!r}")
        method, target, version = parts
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep:
                raise _BadRequest(f"bad header line {line!r}")
            headers[name.strip().lower()] = value.strip()
        connection = headers.get("connection", "").lower()
        keep_alive = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
        if headers.get("expect", "").lower() == "100-continue":
            # curl waits up to a second for this before sending a large body.
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = await self._read_body(reader, headers)
        return _Request(method, target.split("?", 1)[0], headers, body, keep_alive)

    @staticmethod
    async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            chunks: list[bytes] = []
            size_total = 0
            while True:
                size_line = await reader.readuntil(b"\r\n")
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # trailers end with an empty line
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":
                        pass
                    return b"".join(chunks)
                size_total += size
                if size_total > MAX_REQUEST_BODY_BYTES:
                    raise _BadRequest("request body too large")
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
        length = int(headers.get("content-length", "0") or "0")
        if length > MAX_REQUEST_BODY_BYTES:
            raise _BadRequest("request body too large")
        return await reader.readexactly(length) if length else b""

    async def _route(
        self, request: _Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        path = request.path
        if request.method == "GET" and path == NEXT_PATH:
            await self._next(reader, writer)
            return
        if request.method == "POST" and path.startswith(INVOCATION_PREFIX):
            request_id, _, verb = path[len(INVOCATION_PREFIX) :].partition("/")
            if verb in ("response", "error"):
                writer.write(self._complete(request_id, verb, request))
                return
        elif request.method == "POST" and path == INIT_ERROR_PATH:
            writer.write(self._init_error(request))
            return
        elif request.method == "GET" and path == RESTORE_NEXT_PATH:
            # SnapStart hooks ran (before-snapshot); there is no real snapshot locally, so "restore" at once.
            writer.write(_response(200))
            return
        elif request.method == "POST" and path == RESTORE_ERROR_PATH:
            self._resolve_init(InvocationOutcome(False, request.body, _error_type(request)))
            writer.write(_ACCEPTED)
            return
        writer.write(_response(404, error_body("InvalidRequest", f"no route {request.method} {path}")))

    async def _next(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._resolve_init(None)
        while True:
            invocation = await self._pending.get()
            if invocation.outcome.done():
                continue  # abandoned while queued (supervisor gave up on it)
            if reader.at_eof() or writer.is_closing() or _peer_has_closed(writer):
                # The worker hung up while we held its /next: keep the event for whoever asks next.
                self._pending.put_nowait(invocation)
                raise ConnectionResetError("worker closed its /next connection")
            break
        headers = [
            ("Content-Type", "application/json"),
            ("Lambda-Runtime-Aws-Request-Id", invocation.request_id),
            ("Lambda-Runtime-Deadline-Ms", str(invocation.deadline_ms)),
            ("Lambda-Runtime-Invoked-Function-Arn", invocation.function_arn),
            ("Lambda-Runtime-Trace-Id", invocation.trace_id),
        ]
        if invocation.client_context is not None:
            headers.append(("Lambda-Runtime-Client-Context", invocation.client_context))
        if invocation.cognito_identity is not None:
            headers.append(("Lambda-Runtime-Cognito-Identity", invocation.cognito_identity))
        self._current = invocation
        invocation.delivered = True
        writer.write(_response(200, invocation.payload, tuple(headers)))
        if writer.transport.get_write_buffer_size() > 256 * 1024:
            await writer.drain()

    def _complete(self, request_id: str, verb: str, request: _Request) -> bytes:
        invocation = self._current
        if invocation is None or invocation.request_id != request_id:
            return _response(400, error_body("InvalidRequestID", f"unknown request id {request_id}"))
        self._current = None
        if invocation.outcome.done():
            return _ACCEPTED  # the supervisor already timed it out; the late answer is dropped
        if verb == "error":
            invocation.outcome.set_result(InvocationOutcome(False, request.body, _error_type(request)))
            return _ACCEPTED
        if len(request.body) > MAX_RESPONSE_BYTES:
            message = (
                f"Response payload size ({len(request.body)} bytes) exceeded maximum allowed payload size "
                f"({MAX_RESPONSE_BYTES} bytes)."
            )
            body = error_body("Function.ResponseSizeTooLarge", message)
            invocation.outcome.set_result(InvocationOutcome(False, body, "Function.ResponseSizeTooLarge"))
            return _response(413, body)
        invocation.outcome.set_result(InvocationOutcome(True, request.body))
        return _ACCEPTED

    def _init_error(self, request: _Request) -> bytes:
        if self.initialised.done():
            return _response(403, error_body("InvalidStateTransition", "init already completed"))
        self._resolve_init(InvocationOutcome(False, request.body, _error_type(request)))
        return _ACCEPTED

    def _resolve_init(self, outcome: InvocationOutcome | None) -> None:
        if not self.initialised.done():
            self.initialised.set_result(outcome)


_HANGUP_EVENTS = getattr(select, "POLLRDHUP", 0) | select.POLLHUP | select.POLLERR


def _peer_has_closed(writer: asyncio.StreamWriter) -> bool:
    """Ask the kernel whether the worker hung up (it died while idle) before handing it an event.

    The event loop may not have read the FIN yet; without this check an event written to a dead worker's
    socket would count as delivered and fail as Runtime.ExitError instead of going to a fresh worker.
    """
    sock = writer.get_extra_info("socket")
    if sock is None:
        return False
    poller = select.poll()
    poller.register(sock.fileno(), _HANGUP_EVENTS)
    return any(events & _HANGUP_EVENTS for _fd, events in poller.poll(0))


def _error_type(request: _Request) -> str:
    """errorType from the posted error JSON, else the Lambda-Runtime-Function-Error-Type header."""
    try:
        parsed = json.loads(request.body)
        if isinstance(parsed, dict) and parsed.get("errorType"):
            return str(parsed["errorType"])
    except ValueError:
        pass
    return request.headers.get(ERROR_TYPE_HEADER) or "Runtime.Unknown"
