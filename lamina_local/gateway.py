"""The local HTTP API: API Gateway (HTTP API, payload format 2.0) in front of the functions of the stack.

A raw ASGI app served by uvicorn inside the supervisor's event loop. It matches routes the way HTTP APIs do,
answers CORS preflights, runs the route's authorizer, builds the 2.0 event, invokes the function through the
`Invoker` and maps the result back to HTTP with API Gateway's rules and error texts.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

import uvicorn

from lamina_local.authorizers import (
    AUTHORIZER_RETRY_AFTER_S,
    AuthorizationDenied,
    AuthorizationRequest,
    Authorizer,
    JwksCache,
    JwksUrlRewriter,
    build_authorizers,
)
from lamina_local.events import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_REGION,
    HttpRequestInfo,
    http_api_request_context,
    http_api_v2_event,
)
from lamina_local.invoker import Invoker, InvokeResult
from lamina_local.model import CorsSpec, HttpApiSpec, HttpRoute

logger = logging.getLogger(__name__)

DEFAULT_PORT = 3000
MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024  # HTTP API payload quota
MAX_DRAINED_BODY_BYTES = 8 * MAX_REQUEST_BODY_BYTES  # beyond this a too-large upload is cut off
MAX_INTEGRATION_TIMEOUT_MS = 30_000
INTEGRATION_TIMEOUT_RETRY_AFTER_S = AUTHORIZER_RETRY_AFTER_S
DEFAULT_ROUTE_KEY = "$default"
# Content types API Gateway passes as text; everything else (and any content-encoding) goes base64.
TEXT_CONTENT_TYPES = frozenset(
    {
        "application/json",
        "application/xml",
        "application/javascript",
        "application/x-www-form-urlencoded",
        "application/graphql",
        "application/x-ndjson",
    }
)

HOP_BY_HOP_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})
ANY_METHOD = "ANY"
_LITERAL, _PARAMETER, _GREEDY = 0, 1, 2

AccessLogger = Callable[[str], None]


def _json_body(message: str) -> bytes:
    return json.dumps({"message": message}).encode()


@dataclass(frozen=True)
class _CompiledRoute:
    route: HttpRoute
    route_key: str
    segments: tuple[tuple[int, str], ...]  # (kind, literal text or parameter name)
    is_default: bool

    @property
    def specificity(self) -> tuple[tuple[int, ...], bool]:
        """Smaller sorts first: literal beats {param} beats {proxy+}, segment by segment; then method beats ANY."""
        return tuple(kind for kind, _ in self.segments), self.route.method == ANY_METHOD

    def match(self, method: str, segments: list[str]) -> dict[str, str] | None:
        if self.route.method not in (ANY_METHOD, method):
            return None
        parameters: dict[str, str] = {}
        for index, (kind, text) in enumerate(self.segments):
            if kind == _GREEDY:
                rest = segments[index:]
                if not rest or not rest[0]:
                    return None
                parameters[text] = unquote("/".join(rest))
                return parameters
            if index >= len(segments):
                return None
            if kind == _LITERAL and segments[index] != text:
                return None
            if kind == _PARAMETER:
                if not segments[index]:
                    return None
                parameters[text] = unquote(segments[index])
        return parameters if len(segments) == len(self.segments) else None


def _compile(route: HttpRoute) -> _CompiledRoute:
    if route.path == DEFAULT_ROUTE_KEY or route.method == DEFAULT_ROUTE_KEY:
        return _CompiledRoute(route, DEFAULT_ROUTE_KEY, (), is_default=True)
    segments: list[tuple[int, str]] = []
    for part in route.path.strip("/").split("/") if route.path.strip("/") else []:
        if part.startswith("{") and part.endswith("+}"):
            segments.append((_GREEDY, part[1:-2]))
        elif part.startswith("{") and part.endswith("}"):
            segments.append((_PARAMETER, part[1:-1]))
        else:
            segments.append((_LITERAL, part))
    return _CompiledRoute(route, f"{route.method} {route.path}", tuple(segments), is_default=False)


class RouteTable:
    """HTTP API route selection: the most specific matching route, then `$default`."""

    def __init__(self, routes: tuple[HttpRoute, ...]) -> None:
        compiled = [_compile(route) for route in routes]
        self._routes = sorted((r for r in compiled if not r.is_default), key=lambda r: r.specificity)
        self._default = next((r for r in compiled if r.is_default), None)

    def match(self, method: str, raw_path: str) -> tuple[_CompiledRoute, dict[str, str]] | None:
        segments = raw_path.strip("/").split("/") if raw_path.strip("/") else []
        for route in self._routes:
            parameters = route.match(method, segments)
            if parameters is not None:
                return route, parameters
        if self._default is not None:
            return self._default, {}
        return None


def body_is_text(headers: dict[str, str]) -> bool:
    if headers.get("content-encoding", "identity") not in ("", "identity"):
        return False
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if not content_type:
        return True
    return (
        content_type.startswith("text/")
        or content_type in TEXT_CONTENT_TYPES
        or content_type.endswith("+json")
        or content_type.endswith("+xml")
    )


def new_trace_id() -> str:
    """An X-Ray trace header, as API Gateway adds to every request: Root=1-<epoch hex>-<96 random bits>."""
    return f"Root=1-{int(time.time()):08x}-{os.urandom(12).hex()}"


def _header_bytes(value: str) -> bytes:
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode()


def new_request_id() -> str:
    """API Gateway's request ids look like "JKJaXmPLvHcESHA=": 16 base64 characters."""
    return base64.b64encode(os.urandom(11)).decode()


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def error_response(status: int, message: str, *, retry_after_s: int | None = None) -> HttpResponse:
    headers = [("content-type", "application/json")]
    if retry_after_s is not None:
        headers.append(("retry-after", str(retry_after_s)))
    return HttpResponse(status, headers, _json_body(message))


def integration_response(result: InvokeResult) -> HttpResponse:
    """Map a format 2.0 function result to HTTP the way API Gateway does."""
    if not result.ok:
        return error_response(500, "Internal Server Error")
    try:
        output = json.loads(result.payload) if result.payload else None
    except ValueError:
        return error_response(500, "Internal Server Error")
    if not isinstance(output, dict) or "statusCode" not in output:
        # No statusCode: API Gateway assumes 200, JSON, and the output itself as the body.
        body = output if isinstance(output, str) else json.dumps(output)
        return HttpResponse(200, [("content-type", "application/json")], body.encode())
    try:
        return _proxy_response(output)
    except (TypeError, ValueError):
        return error_response(500, "Internal Server Error")


def _proxy_response(output: dict[str, Any]) -> HttpResponse:
    status = int(output["statusCode"])
    headers: list[tuple[str, str]] = []
    for name, value in (output.get("headers") or {}).items():
        headers.append((str(name).lower(), str(value)))
    for name, values in (output.get("multiValueHeaders") or {}).items():
        headers.extend((str(name).lower(), str(value)) for value in values)
    headers.extend(("set-cookie", str(cookie)) for cookie in output.get("cookies") or [])
    body = output.get("body")
    if body is None:
        raw = b""
    elif output.get("isBase64Encoded"):
        raw = base64.b64decode(body)
    else:
        raw = (body if isinstance(body, str) else json.dumps(body)).encode()
    return HttpResponse(status, headers, raw)


class CorsPolicy:
    """API Gateway's built-in CORS: it answers preflights and overrides the integration's CORS headers."""

    def __init__(self, spec: CorsSpec) -> None:
        self.spec = spec
        self._origins = {origin.rstrip("/") for origin in spec.allow_origins}

    def allowed_origin(self, origin: str | None) -> str | None:
        if not origin:
            return None
        if origin.rstrip("/") in self._origins:
            return origin
        if "*" in self._origins:
            return origin if self.spec.allow_credentials else "*"
        return None

    @staticmethod
    def is_preflight(method: str, headers: dict[str, str]) -> bool:
        return method == "OPTIONS" and "origin" in headers and "access-control-request-method" in headers

    def preflight(self, headers: dict[str, str]) -> HttpResponse:
        origin = self.allowed_origin(headers.get("origin"))
        if origin is None:
            return HttpResponse(204, [], b"")
        answer = [("access-control-allow-origin", origin)]
        methods = self.spec.allow_methods or ("*",)
        if "*" in methods:
            methods = (headers["access-control-request-method"],)
        answer.append(("access-control-allow-methods", ",".join(methods)))
        allow_headers = self.spec.allow_headers
        if "*" in allow_headers:
            requested = headers.get("access-control-request-headers")
            allow_headers = (requested,) if requested else ()
        if allow_headers:
            answer.append(("access-control-allow-headers", ",".join(h.lower() for h in allow_headers)))
        if self.spec.allow_credentials:
            answer.append(("access-control-allow-credentials", "true"))
        if self.spec.max_age_s is not None:
            answer.append(("access-control-max-age", str(self.spec.max_age_s)))
        return HttpResponse(204, answer, b"")

    def decorate(self, response: HttpResponse, headers: dict[str, str]) -> None:
        response.headers = [(n, v) for n, v in response.headers if not n.startswith("access-control-")]
        origin = self.allowed_origin(headers.get("origin"))
        if origin is None:
            return
        response.headers.append(("access-control-allow-origin", origin))
        if self.spec.expose_headers:
            response.headers.append(("access-control-expose-headers", ",".join(self.spec.expose_headers)))
        if self.spec.allow_credentials:
            response.headers.append(("access-control-allow-credentials", "true"))


class _QuietServer(uvicorn.Server):
    """uvicorn inside somebody else's loop: the supervisor owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class RequestTooLarge(Exception):
    pass


class LocalHttpApi:
    """One HTTP API of the stack on a local port. `await start()`, read `port`, `await stop()`."""

    def __init__(
        self,
        api: HttpApiSpec,
        invoker: Invoker,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
        api_id: str | None = None,
        jwks_url_rewriter: JwksUrlRewriter | None = None,
        jwks: JwksCache | None = None,
        on_access: AccessLogger | None = None,
        stage_variables: dict[str, str] | None = None,
        web_ui: Any = None,
    ) -> None:
        self.api = api
        self.invoker = invoker
        self.host = host
        self.port = port
        self.region = region
        self.account_id = account_id
        self.api_id = api_id or api.logical_id.lower()[:10]
        self.on_access = on_access
        self.stage_variables = stage_variables or {}
        # `lamina up` serves the web UI on this port too (lamina_local.web_ui.WebUi): same origin as /api.
        self.web_ui = web_ui
        self.routes = RouteTable(api.routes)
        self.cors = CorsPolicy(api.cors) if api.cors is not None else None
        self.jwks = jwks or JwksCache()
        self.authorizers: dict[str, Authorizer] = build_authorizers(
            api.authorizers, invoker, jwks=self.jwks, jwks_url_rewriter=jwks_url_rewriter
        )
        self.requests_per_route: Counter[str] = Counter()
        for route in api.routes:
            if route.payload_format != "2.0":
                logger.warning(
                    "%s %s: payload format %s is served as 2.0",
                    route.method,
                    route.path,
                    route.payload_format,
                )
        self._server: _QuietServer | None = None
        self._serve_task: asyncio.Task[None] | None = None
        # Invocations outliving their integration timeout keep running, as in AWS; hold them until done.
        self._orphans: set[asyncio.Task[InvokeResult]] = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        config = uvicorn.Config(
            self,
            host=self.host,
            port=self.port,
            lifespan="off",
            log_level="warning",
            log_config=None,  # leave the supervisor's logging configuration alone
            access_log=False,
            server_header=False,
        )
        self._server = _QuietServer(config)
        self._serve_task = asyncio.create_task(self._server.serve(), name=f"gateway-{self.api.logical_id}")
        while not self._server.started:
            if self._serve_task.done():
                self._serve_task.result()  # surfaces the bind error
                raise RuntimeError("gateway stopped before it started")
            await asyncio.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None and self._serve_task is not None:
            self._server.should_exit = True
            await self._serve_task
        for task in list(self._orphans):
            task.cancel()
        await self.jwks.aclose()

    # ASGI -------------------------------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if self.web_ui is not None and self.web_ui.handles(scope["path"]):
            await self.web_ui(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = new_request_id()
        route_key = "-"
        try:
            request = await self._read_request(scope, receive)
            response, route_key = await self._handle(request, request_id)
        except RequestTooLarge:
            response = error_response(413, "Request Entity Too Large")
        # Framing is the gateway's business, never the function's: it sets the length itself.
        headers = [(n, v) for n, v in response.headers if n not in HOP_BY_HOP_HEADERS]
        headers.append(("content-length", str(len(response.body))))
        headers.append(("apigw-requestid", request_id))
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": [(n.encode("latin-1"), _header_bytes(v)) for n, v in headers],
            }
        )
        await send({"type": "http.response.body", "body": response.body})
        if self.on_access is not None:
            elapsed_ms = (time.perf_counter() - started) * 1000
            path = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
            self.on_access(
                f'{scope["client"][0] if scope.get("client") else "-"} {request_id} "{scope["method"]} '
                f'{path}" {response.status} {len(response.body)} {route_key} {elapsed_ms:.1f}ms'
            )

    async def _read_request(self, scope: dict[str, Any], receive: Any) -> HttpRequestInfo:
        headers: dict[str, str] = {}
        cookies: list[str] = []
        for raw_name, raw_value in scope["headers"]:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            if name == "cookie":
                # Format 2.0 moves cookies out of the headers into their own list.
                cookies.extend(part.strip() for part in value.split(";") if part.strip())
                continue
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            # Past the quota the body is drained, not kept, so the client can still read the 413.
            if size <= MAX_REQUEST_BODY_BYTES:
                chunks.append(chunk)
            elif size > MAX_DRAINED_BODY_BYTES:
                break
            if not message.get("more_body", False):
                break
        if size > MAX_REQUEST_BODY_BYTES:
            raise RequestTooLarge
        raw_query = scope.get("query_string", b"").decode("latin-1")
        query: dict[str, str] = {}
        for name, value in parse_qsl(raw_query, keep_blank_values=True):
            query[name] = f"{query[name]},{value}" if name in query else value
        client = scope.get("client") or ("127.0.0.1", 0)
        server = scope.get("server") or (self.host, self.port)
        headers.setdefault("x-forwarded-for", client[0])
        headers.setdefault("x-forwarded-port", str(server[1]))
        headers.setdefault("x-forwarded-proto", scope.get("scheme", "http"))
        headers.setdefault("x-amzn-trace-id", new_trace_id())
        return HttpRequestInfo(
            method=scope["method"].upper(),
            raw_path=scope.get("raw_path", scope["path"].encode()).decode("latin-1") or "/",
            raw_query_string=raw_query,
            headers=headers,
            cookies=cookies,
            query_string_parameters=query,
            body=b"".join(chunks),
            source_ip=client[0],
            protocol=f"HTTP/{scope.get('http_version', '1.1')}",
            domain_name=headers.get("host", f"{self.host}:{self.port}"),
            stage_variables=dict(self.stage_variables),
        )

    async def _handle(self, request: HttpRequestInfo, request_id: str) -> tuple[HttpResponse, str]:
        if self.cors is not None and CorsPolicy.is_preflight(request.method, request.headers):
            return self.cors.preflight(request.headers), "preflight"
        matched = self.routes.match(request.method, request.raw_path)
        if matched is None:
            response = error_response(404, "Not Found")
            self.requests_per_route["<unmatched>"] += 1
            route_key = "-"
        else:
            compiled, parameters = matched
            route_key = compiled.route_key
            self.requests_per_route[route_key] += 1
            request.path_parameters = parameters
            response = await self._integrate(compiled, request, request_id)
        if self.cors is not None:
            self.cors.decorate(response, request.headers)
        return response, route_key

    async def _integrate(
        self, compiled: _CompiledRoute, request: HttpRequestInfo, request_id: str
    ) -> HttpResponse:
        route = compiled.route
        context = http_api_request_context(
            request,
            route_key=compiled.route_key,
            request_id=request_id,
            api_id=self.api_id,
            account_id=self.account_id,
            now=datetime.now(UTC),
        )
        authorizer_context: dict[str, Any] | None = None
        # The template parser resolves the API's default authorizer and `NONE` into `route.authorizer`.
        if route.authorizer is not None:
            authorizer = self.authorizers.get(route.authorizer)
            if authorizer is None:
                logger.error("route %s names unknown authorizer %s", compiled.route_key, route.authorizer)
                return error_response(500, "Internal Server Error")
            try:
                authorizer_context = await authorizer.authorize(
                    AuthorizationRequest(
                        request=request,
                        route_key=compiled.route_key,
                        request_context=context,
                        region=self.region,
                        account_id=self.account_id,
                        api_id=self.api_id,
                    )
                )
            except AuthorizationDenied as denied:
                logger.info("authorizer %s: %s", route.authorizer, denied.reason or denied.message)
                return error_response(denied.status, denied.message, retry_after_s=denied.retry_after_s)
        event = http_api_v2_event(
            request,
            route_key=compiled.route_key,
            request_context=context,
            body_is_text=body_is_text(request.headers),
            authorizer=authorizer_context,
        )
        timeout_s = min(route.timeout_ms, MAX_INTEGRATION_TIMEOUT_MS) / 1000
        invocation = asyncio.ensure_future(self.invoker.invoke(route.function, event))
        try:
            result = await asyncio.wait_for(asyncio.shield(invocation), timeout_s)
        except TimeoutError:
            self._orphans.add(invocation)
            invocation.add_done_callback(self._forget_orphan)
            # API Gateway's 503 for an integration timeout; Retry-After so a client backs off and retries.
            return error_response(503, "Service Unavailable", retry_after_s=INTEGRATION_TIMEOUT_RETRY_AFTER_S)
        except Exception:
            logger.exception("invoking %s failed", route.function)
            return error_response(500, "Internal Server Error")
        return integration_response(result)

    def _forget_orphan(self, task: asyncio.Task[InvokeResult]) -> None:
        self._orphans.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.warning("late invocation failed: %r", task.exception())
