"""The web UI on the gateway's port: `web/dist` at `/`, beside `/api` and `/services`, as CloudFront serves it.

Paths under `/api` and `/services` stay the HTTP API's. Everything else is a file of the build, or (a client-side
route such as `/traces/abc`) `index.html`. Hashed assets are cached for a year, `index.html` never, so a rebuild
shows at the next reload. `/_local/cognito-idp/` forwards the browser's InitiateAuth to the AWS emulator, which
sends no CORS headers; in AWS the browser calls Cognito itself.
"""

from __future__ import annotations

import asyncio
import mimetypes
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

API_PREFIXES = ("/api", "/services")
COGNITO_PROXY_PATH = "/_local/cognito-idp/"  # = lamina.settings.LOCAL_COGNITO_PROXY_PATH
IMMUTABLE = "public, max-age=31536000, immutable"
NOT_BUILT = (
    b"<!doctype html><title>Lamina</title><h1>The web UI is not built</h1>"
    b"<p>Run <code>scripts/build-web</code> (or <code>make up</code>), then reload. The API is at /api.</p>"
)
# Only what InitiateAuth needs crosses to the emulator.
FORWARDED_COGNITO_HEADERS = ("content-type", "x-amz-target")

Send = Any
Scope = dict[str, Any]


def is_api_path(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in API_PREFIXES)


class WebUi:
    """Answers every non-API request of the gateway; `handles(path)` says which those are."""

    def __init__(self, dist: Path, *, aws_endpoint_url: str | None = None) -> None:
        self.dist = dist.resolve()
        self.aws_endpoint_url = aws_endpoint_url

    def handles(self, path: str) -> bool:
        return not is_api_path(path)

    async def __call__(self, scope: Scope, receive: Any, send: Send) -> None:
        path = scope["path"]
        if path == COGNITO_PROXY_PATH and self.aws_endpoint_url:
            await self._forward_to_cognito(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            await _respond(send, 405, b"Method Not Allowed", [("content-type", "text/plain")])
            return
        file = self._file_for(path)
        head = scope["method"] == "HEAD"
        if file is None:
            index = self.dist / "index.html"
            if not index.is_file():
                await _respond(send, 503, NOT_BUILT, [("content-type", "text/html")], head=head)
                return
            file = index
        cache = IMMUTABLE if file.parent.name == "assets" else "no-cache"
        content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        body = await asyncio.to_thread(file.read_bytes)
        headers = [("content-type", content_type), ("cache-control", cache)]
        await _respond(send, 200, body, headers, head=head)

    def _file_for(self, path: str) -> Path | None:
        """The build's file at `path`, or None for a client-side route (and anything outside the build)."""
        relative = path.lstrip("/")
        if not relative:
            return None
        candidate = (self.dist / relative).resolve()
        if not candidate.is_relative_to(self.dist) or not candidate.is_file():
            return None
        return candidate

    async def _forward_to_cognito(self, scope: Scope, receive: Any, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        headers = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name.decode("latin-1").lower() in FORWARDED_COGNITO_HEADERS
        }
        assert self.aws_endpoint_url is not None
        request = urllib.request.Request(self.aws_endpoint_url, data=body, headers=headers, method="POST")

        def call() -> tuple[int, bytes, str]:
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return response.status, response.read(), response.headers.get("content-type", "")
            except urllib.error.HTTPError as error:
                return error.code, error.read(), error.headers.get("content-type", "")

        status, answer, content_type = await asyncio.to_thread(call)
        await _respond(send, status, answer, [("content-type", content_type or "application/x-amz-json-1.1")])


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[str, str]], *, head: bool = False
) -> None:
    headers = [*headers, ("content-length", str(len(body)))]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(n.encode("latin-1"), v.encode("latin-1")) for n, v in headers],
        }
    )
    await send({"type": "http.response.body", "body": b"" if head else body})
