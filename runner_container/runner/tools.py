"""Server-side tools: the runner relays a harness's call to the API's tool call-back.

The call carries a short-lived service token bound to the run's project, minted here per call; the harness
never sees it, nor any of the runner's credentials. The call-back must live under the API's own URL
(LAMINA_API_URL), so a run request cannot make the runner send a token anywhere else.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

TOOL_TOKEN_TTL_S = 120
TOOL_TOKEN_SUBJECT = "runner-tools"
TOOL_CALL_TIMEOUT_S = 60.0
MAX_TOOL_RESULT_CHARS = 256 * 1024


class ToolRelayError(RuntimeError):
    pass


def check_callback(url: str) -> None:
    from lamina.settings import get_settings

    base = get_settings().api_url.rstrip("/")
    if not base or not (url == base or url.startswith(base + "/")):
        raise ToolRelayError(f"tool call-back {url!r} is not under the API URL (LAMINA_API_URL)")


def relay_tool_call(
    url: str,
    *,
    project_id: uuid.UUID,
    session_id: uuid.UUID,
    tool_call_id: str,
    name: str,
    arguments: dict[str, Any],
) -> str:
    """POST the call to the API and return the tool's result as text (errors are text too)."""
    import httpx

    from lamina.auth.service_tokens import issue_service_token

    try:
        check_callback(url)
    except ToolRelayError as error:
        return f"error: {error}"
    token = issue_service_token(
        project_id=project_id, subject=TOOL_TOKEN_SUBJECT, role="editor", ttl_s=TOOL_TOKEN_TTL_S
    )
    body = {
        "session_id": str(session_id),
        "tool_call_id": tool_call_id,
        "name": name,
        "arguments": arguments,
    }
    try:
        response = httpx.post(
            url,
            json=body,
            headers={"Authorization": f"Bearer {token}", "X-Project-Id": str(project_id)},
            timeout=TOOL_CALL_TIMEOUT_S,
        )
    except httpx.HTTPError as error:
        return f"error: tool call-back unreachable: {error}"
    if response.status_code >= 400:
        return f"error: tool call-back answered {response.status_code}: {response.text[:500]}"
    try:
        data = response.json()
    except ValueError:
        return response.text[:MAX_TOOL_RESULT_CHARS]
    result = data.get("result", data) if isinstance(data, dict) else data
    text = result if isinstance(result, str) else json.dumps(result)
    return text[:MAX_TOOL_RESULT_CHARS]
