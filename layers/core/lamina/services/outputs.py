"""From a provider's OpenAI-shaped answer to a service's outputs, as Agenta's services shape them.

Completion returns the text (the parsed JSON under a JSON response format, the tool calls when the model
called tools); chat returns the assistant message. Under `response_format: json_schema` the parsed output
is validated against the schema: a model that answered off the schema is the provider's failure (424 with
what did not match), never a malformed success and never a 500.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from lamina.errors import DependencyFailedError, ValidationFailedError
from lamina.services.schemas import ServiceKind

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

JSON_FORMATS = ("json_object", "json_schema")
# How much of a bad answer an error message quotes.
QUOTED_OUTPUT_CHARS = 200
# How many schema violations an error's details list.
MAX_REPORTED_VIOLATIONS = 5
VALIDATORS_CACHED = 64


def response_schema(llm_config: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema a `json_schema` response format asks for, if any."""
    response_format = llm_config.get("response_format") or {}
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        return None
    schema = (response_format.get("json_schema") or {}).get("schema")
    return schema if isinstance(schema, dict) else None


@functools.lru_cache(maxsize=VALIDATORS_CACHED)
def _validator(canonical_schema: str) -> Validator:
    # Compiled once per distinct schema in a warm function: a playground re-runs the same prompt.
    from jsonschema.validators import validator_for

    schema = json.loads(canonical_schema)
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def schema_validator(schema: dict[str, Any]) -> Validator:
    """The validator of a prompt's response schema; an invalid schema is the request's error (422)."""
    from jsonschema.exceptions import SchemaError

    try:
        return _validator(json.dumps(schema, sort_keys=True, separators=(",", ":")))
    except SchemaError as error:
        raise ValidationFailedError(
            f"llm_config.response_format.json_schema.schema is not a valid JSON schema: {error.message}"
        ) from error


def check_schema_conformance(model: str, outputs: Any, schema: dict[str, Any]) -> None:
    """424 naming the first violations when the model's JSON does not match the response schema."""
    violations = sorted(schema_validator(schema).iter_errors(outputs), key=lambda error: list(error.path))
    if not violations:
        return
    details = [
        {"path": "/" + "/".join(str(part) for part in error.path), "message": error.message}
        for error in violations[:MAX_REPORTED_VIOLATIONS]
    ]
    first = details[0]
    raise DependencyFailedError(
        f"{model}: the model's JSON does not match the response_format's json_schema: "
        f"at {first['path']}: {first['message']}",
        details={"model": model, "violations": details, "output": outputs},
    )


def _parse_json(model: str, content: str | None) -> Any:
    try:
        return json.loads(content or "")
    except ValueError as error:
        raise DependencyFailedError(
            f"{model}: asked for JSON, the model answered text that is not JSON: "
            f"{str(content)[:QUOTED_OUTPUT_CHARS]!r}"
        ) from error


def _strip_tool_calls(tool_calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"id": call.get("id"), "type": call.get("type") or "function", "function": call.get("function")}
        for call in tool_calls
    ]


def shape_outputs(kind: ServiceKind, model: str, response: dict[str, Any], llm_config: dict[str, Any]) -> Any:
    """The service's outputs from the provider's answer under the llm_config that produced it."""
    choices = response.get("choices") or []
    if not choices:
        raise DependencyFailedError(f"{model}: the provider answered with no choices")
    message: dict[str, Any] = choices[0].get("message") or {}
    tool_calls = message.get("tool_calls") or None
    schema = response_schema(llm_config)
    if kind == "chat":
        shaped: dict[str, Any] = {
            "role": message.get("role") or "assistant",
            "content": message.get("content"),
        }
        if tool_calls:
            shaped["tool_calls"] = _strip_tool_calls(tool_calls)
        elif schema is not None:  # the message keeps its text; the text must still be the schema's JSON
            check_schema_conformance(model, _parse_json(model, message.get("content")), schema)
        return shaped
    if tool_calls and not message.get("content"):
        return _strip_tool_calls(tool_calls)
    if (llm_config.get("response_format") or {}).get("type") in JSON_FORMATS:
        parsed = _parse_json(model, message.get("content"))
        if schema is not None:
            check_schema_conformance(model, parsed, schema)
        return parsed
    return message.get("content") or message.get("refusal") or ""
