"""The built-in `mock` provider: deterministic answers with no key and no network, so a new user can try the
playground and run evaluations before adding a provider key.

It short-circuits before litellm rather than registering a litellm `CustomLLM`: registering means mutating
litellm's module-level `custom_provider_map` (process state outside `lamina.state`), and a mock call would
pay litellm's multi-second import for nothing. Its answer has the OpenAI response shape litellm returns, so
everything after the call is the same code for both.

Models: `mock/echo` (and any other `mock/<name>`) answers the last user message; with a JSON response
format it answers an object (built from the json_schema when there is one); with tools and a tool_choice
that requires a call, it calls the first (or the chosen) tool with `{}`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

MOCK_SCHEMA_DEPTH = 6


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(str(part.get("text")) for part in content if part.get("text"))
    return ""


def example_of(schema: Any, text: str, depth: int = 0) -> Any:
    """A deterministic value matching a JSON schema's shape (strings carry the echoed text)."""
    if not isinstance(schema, dict) or depth > MOCK_SCHEMA_DEPTH:
        return text
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((item for item in kind if item != "null"), "string")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties") or {}
        return {name: example_of(value, text, depth + 1) for name, value in properties.items()}
    if kind == "array":
        return [example_of(schema.get("items"), text, depth + 1)]
    if kind == "integer":
        return 0
    if kind == "number":
        return 0.0
    if kind == "boolean":
        return False
    return text


def _tool_call(llm_config: dict[str, Any], text: str) -> dict[str, Any] | None:
    tools = llm_config.get("tools") or []
    choice = llm_config.get("tool_choice")
    if not tools or choice in (None, "none", "auto"):
        return None
    name = tools[0]["function"]["name"]
    if isinstance(choice, dict):
        name = choice.get("function", {}).get("name", name)
    spec: dict[str, Any] = next((tool["function"] for tool in tools if tool["function"]["name"] == name), {})
    arguments = example_of(spec.get("parameters") or {"type": "object"}, text)
    call_id = "call_" + hashlib.sha256(f"{name}:{text}".encode()).hexdigest()[:16]
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


def mock_completion(model: str, messages: list[dict[str, Any]], llm_config: dict[str, Any]) -> dict[str, Any]:
    text = _last_user_text(messages)
    response_format = llm_config.get("response_format") or {}
    message: dict[str, Any] = {"role": "assistant", "content": text}
    finish_reason = "stop"
    tool_call = _tool_call(llm_config, text)
    if tool_call is not None:
        message = {"role": "assistant", "content": None, "tool_calls": [tool_call]}
        finish_reason = "tool_calls"
    elif response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        message["content"] = json.dumps(example_of(schema or {"type": "object"}, text))
    elif response_format.get("type") == "json_object":
        message["content"] = json.dumps({"echo": text})
    words = sum(len(str(item.get("content") or "").split()) for item in messages)
    completion_words = len(str(message.get("content") or "").split())
    return {
        "id": "mock-" + hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()[:24],
        "object": "chat.completion",
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {
            "prompt_tokens": words,
            "completion_tokens": completion_words,
            "total_tokens": words + completion_words,
        },
    }
