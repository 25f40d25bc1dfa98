"""The API side of the runner: start a turn with `POST /run` and read its NDJSON stream to the result line."""

from __future__ import annotations

import json
from typing import Any

from lamina.errors import DependencyFailedError, RateLimitedError

RUN_TIMEOUT_S = 900.0
CONNECT_TIMEOUT_S = 5.0
NDJSON = "application/x-ndjson"


class RunnerBusyError(RateLimitedError):
    """The runner refused the turn for now (429: full, 409: the session has a turn running)."""


class RunnerRefusedError(DependencyFailedError):
    """The runner did not start the turn (it answered 4xx/5xx, or could not be reached at all)."""


def run_turn(body: dict[str, Any], *, timeout_s: float = RUN_TIMEOUT_S) -> dict[str, Any]:
    """Run one turn on the runner and return its result line."""
    import httpx

    from lamina.settings import get_settings

    settings = get_settings()
    headers = {"Authorization": f"Bearer {settings.runner_bearer_token}", "Accept": NDJSON}
    url = settings.runner_url.rstrip("/") + "/run"
    timeout = httpx.Timeout(timeout_s, connect=CONNECT_TIMEOUT_S)
    try:
        with httpx.stream("POST", url, json=body, headers=headers, timeout=timeout) as response:
            if response.status_code in (409, 429):
                response.read()
                raise RunnerBusyError(f"the runner is busy: {response.text[:300]}")
            if response.status_code >= 400:
                response.read()
                raise RunnerRefusedError(
                    f"the runner refused the turn ({response.status_code}): {response.text[:300]}"
                )
            result: dict[str, Any] | None = None
            for line in response.iter_lines():
                if line.strip():
                    event = json.loads(line)
                    if event.get("type") == "result":
                        result = event
    except httpx.ConnectError as error:
        raise RunnerRefusedError(f"the runner is unreachable: {error}") from error
    except httpx.HTTPError as error:
        raise DependencyFailedError(f"the runner is unreachable: {error}") from error
    if result is None:
        raise DependencyFailedError("the runner's stream ended without a result")
    return result
