"""`lamina up`'s web UI server: files of the build, client-side routes and nothing outside web/dist."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from lamina_local.web_ui import IMMUTABLE, WebUi


def serve(web: WebUi, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "headers": []}
    asyncio.run(web(scope, receive, send))
    headers = {name.decode(): value.decode() for name, value in sent[0]["headers"]}
    return sent[0]["status"], headers, sent[1]["body"]


def test_serves_the_build_with_an_spa_fallback_and_nothing_outside_it(tmp_path: Path) -> None:
    # GIVEN a build beside a file that is not part of it
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<div id=root></div>")
    (dist / "assets" / "index-abc123.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("not for the browser")
    web = WebUi(dist)
    # THEN the API's paths are not the UI's
    assert not web.handles("/api/projects") and not web.handles("/services/completion/v0/invoke")
    assert web.handles("/") and web.handles("/apis-and-more")
    # AND a hashed asset is cached for a year, index.html (also for a client-side route) never
    status, headers, body = serve(web, "/assets/index-abc123.js")
    assert (status, headers["cache-control"], body) == (200, IMMUTABLE, b"console.log(1)")
    assert "javascript" in headers["content-type"]
    for route in ("/", "/traces/0af7651916cd43dd8448eb211c80319c", "/assets/missing.js"):
        status, headers, body = serve(web, route)
        assert (status, headers["cache-control"], body) == (200, "no-cache", b"<div id=root></div>"), route
    # AND a path climbing out of the build gets index.html, not the file
    assert serve(web, "/../secret.txt")[2] == b"<div id=root></div>"
    assert serve(web, "/assets/../../secret.txt")[2] == b"<div id=root></div>"
    # AND writes are refused, HEAD has no body
    assert serve(web, "/", method="POST")[0] == 405
    assert serve(web, "/", method="HEAD")[2] == b""


def test_an_unbuilt_ui_says_how_to_build_it(tmp_path: Path) -> None:
    status, _, body = serve(WebUi(tmp_path / "dist"), "/registry")
    assert status == 503 and b"scripts/build-web" in body
