"""`inspect`: what a service takes and returns (Agenta's WorkflowInspectResponse: a revision whose data
carries the schemas, plus a ready-made request). Static: no database, no litellm."""

from __future__ import annotations

from typing import Any

from lamina.services.schemas import SERVICE_VERSION, InspectRequest, ServiceParameters

SERVICE_URIS = {"completion": "agenta:builtin:completion:v0", "chat": "agenta:builtin:chat:v0"}

_OUTPUTS: dict[str, dict[str, Any]] = {
    "completion": {
        "description": "The text, the parsed JSON under a JSON response format, or the tool calls.",
        "anyOf": [{"type": "string"}, {"type": "object"}, {"type": "array"}],
    },
    "chat": {
        "description": "The assistant message.",
        "type": "object",
        "properties": {"role": {"type": "string"}, "content": {}, "tool_calls": {"type": "array"}},
        "required": ["role"],
    },
}


def _inputs_schema(kind: str) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "additionalProperties": True}
    if kind == "chat":
        schema["properties"] = {"messages": {"type": "array", "items": {"type": "object"}}}
    return schema


def inspect(kind: str, request: InspectRequest | None) -> dict[str, Any]:
    revision = dict((request.revision if request else None) or {})
    data = {
        "uri": SERVICE_URIS[kind],
        "schemas": {
            "parameters": ServiceParameters.model_json_schema(),
            "inputs": _inputs_schema(kind),
            "outputs": _OUTPUTS[kind],
        },
        **(revision.get("data") or {}),
    }
    parameters = data.get("parameters")
    return {
        "version": SERVICE_VERSION,
        "revision": {**revision, "data": data},
        "request": {"version": SERVICE_VERSION, "data": {"parameters": parameters, "inputs": {}}},
    }
