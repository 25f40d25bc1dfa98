"""From a span's attributes to what Lamina shows and filters on: type, inputs, outputs, model, tokens, cost.

Understands Agenta's SDK (`ag.*`), OpenTelemetry's GenAI conventions (`gen_ai.*`), OpenInference (`llm.*`,
`input.value`, `openinference.span.kind`) and OpenLLMetry (`traceloop.*`, `gen_ai.prompt.N.*`). The first
convention that names a value wins, in that order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

SPAN_TYPES = frozenset(
    {
        "agent",
        "chain",
        "workflow",
        "task",
        "tool",
        "embedding",
        "query",
        "llm",
        "completion",
        "chat",
        "rerank",
        "unknown",
    }
)
TRACE_TYPES = frozenset({"invocation", "annotation", "unknown"})
# OpenInference's span kinds, OTel GenAI's operation names and OpenLLMetry's kinds, as Agenta's span types.
SPAN_TYPE_ALIASES = {
    "retriever": "query",
    "reranker": "rerank",
    "embeddings": "embedding",
    "text_completion": "completion",
    "generate_content": "chat",
    "execute_tool": "tool",
    "invoke_agent": "agent",
    "create_agent": "agent",
    "guardrail": "task",
    "evaluator": "task",
}
MODEL_KEYS = (
    "ag.meta.request.model",
    "gen_ai.response.model",
    "gen_ai.request.model",
    "llm.model_name",
    "llm.response.model",
    "llm.request.model",
)
PROMPT_TOKEN_KEYS = (
    "ag.metrics.unit.tokens.prompt",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "llm.token_count.prompt",
    "llm.usage.prompt_tokens",
)
COMPLETION_TOKEN_KEYS = (
    "ag.metrics.unit.tokens.completion",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
    "llm.usage.completion_tokens",
)
TOTAL_TOKEN_KEYS = (
    "ag.metrics.unit.tokens.total",
    "gen_ai.usage.total_tokens",
    "llm.token_count.total",
    "llm.usage.total_tokens",
)
COST_KEYS = ("ag.metrics.unit.costs.total", "gen_ai.usage.cost", "llm.cost.total")
AGENTA_JSON_MARKER = "@ag.type=json:"
SESSION_KEYS = ("ag.session.id", "session.id", "gen_ai.conversation.id")
USER_KEYS = ("ag.user.id", "user.id", "enduser.id")
TRACE_TYPE_KEY = "ag.type.trace"
# Where a span names its type, first match wins.
SPAN_TYPE_KEYS = (
    "ag.type.span",
    "ag.type.node",
    "openinference.span.kind",
    "gen_ai.operation.name",
    "traceloop.span.kind",
    "llm.request.type",
)
LLM_SYSTEM_KEY = "gen_ai.system"
# Inputs and outputs: a whole value under one of these keys, else flattened under the Agenta prefix, else
# OpenInference's value, else messages indexed under OpenInference's, then OpenLLMetry's prefix.
INPUT_VALUE_KEYS = ("ag.data.inputs", "traceloop.entity.input", "gen_ai.input.messages")
OUTPUT_VALUE_KEYS = ("ag.data.outputs", "traceloop.entity.output", "gen_ai.output.messages")
INPUTS_PREFIX = "ag.data.inputs."
OUTPUTS_PREFIX = "ag.data.outputs."
INPUT_VALUE_KEY = "input.value"
OUTPUT_VALUE_KEY = "output.value"
# (prefix, what follows the index): `llm.input_messages.0.message.role`, `gen_ai.prompt.0.role`.
INPUT_MESSAGES = (("llm.input_messages.", "message."), ("gen_ai.prompt.", ""))
OUTPUT_MESSAGES = (("llm.output_messages.", "message."), ("gen_ai.completion.", ""))


@dataclass
class Normalized:
    trace_type: str
    span_type: str
    inputs: Any
    outputs: Any
    model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None
    cost: float | None
    session_id: str | None
    user_id: str | None
    # The inputs and outputs as the span carried them when that was JSON text: stored as is, not re-encoded.
    inputs_json: str | None = None
    outputs_json: str | None = None


def normalize(attributes: dict[str, Any]) -> Normalized:
    """What a span's flat attribute map says, in Lamina's (Agenta's) terms; cost priced when not given."""
    model = _first_str(attributes, MODEL_KEYS)
    prompt = _first_int(attributes, PROMPT_TOKEN_KEYS)
    completion = _first_int(attributes, COMPLETION_TOKEN_KEYS)
    total = _first_int(attributes, TOTAL_TOKEN_KEYS)
    if total is None and (prompt is not None or completion is not None):
        total = (prompt or 0) + (completion or 0)
    cost = _first_float(attributes, COST_KEYS)
    if cost is None and model and (prompt or completion):
        cost = price(model, prompt or 0, completion or 0)
    inputs, inputs_json = _inputs(attributes)
    outputs, outputs_json = _outputs(attributes)
    return Normalized(
        trace_type=_trace_type(attributes),
        span_type=_span_type(attributes, has_model=model is not None),
        inputs=inputs,
        outputs=outputs,
        model=model,
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=total,
        cost=cost,
        session_id=_first_str(attributes, SESSION_KEYS),
        user_id=_first_str(attributes, USER_KEYS),
        inputs_json=inputs_json,
        outputs_json=outputs_json,
    )


def price(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """The call's cost in USD from litellm's bundled price map; None for a model it does not know."""
    from lamina.state import current

    unit = current().memo(f"tracing.unit_price:{model}", lambda: _unit_price(model))
    if unit is None:
        return None
    if unit == TIERED:
        return _litellm_cost(model, prompt_tokens, completion_tokens)
    input_price, output_price = unit
    return prompt_tokens * input_price + completion_tokens * output_price


# A model whose price changes with the prompt's size (`..._above_128k_tokens`): priced by litellm each time.
TIERED = (-1.0, -1.0)


def _unit_price(model: str) -> tuple[float, float] | None:
    """(input, output) USD per token, resolved once per model and process: litellm's lookup costs ~1 ms."""
    # litellm takes seconds to import: only the worker pays it, and only for a span that names a model.
    import litellm

    litellm.suppress_debug_info = True
    entry = litellm.model_cost.get(model) or {}
    if any("_above_" in name for name in entry):
        return TIERED
    input_price = _litellm_cost(model, 1, 0)
    output_price = _litellm_cost(model, 0, 1)
    if input_price is None or output_price is None:
        return None
    return input_price, output_price


def _litellm_cost(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    import litellm

    try:
        prompt_cost, completion_cost = litellm.cost_per_token(
            model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
        )
    except Exception:  # litellm raises a bare Exception for an unmapped model
        return None
    return float(prompt_cost) + float(completion_cost)


def unflatten(attributes: dict[str, Any]) -> dict[str, Any]:
    """`{"ag.data.inputs": x}` as `{"ag": {"data": {"inputs": x}}}`; a key that is both a leaf and a prefix
    keeps its leaf under `""`, so nothing is lost (in whichever order the keys come)."""
    nested: dict[str, Any] = {}
    for key in attributes:
        node = nested
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {} if child is None else {"": child}
                node[part] = child
            node = child
        leaf = parts[-1]
        if isinstance(node.get(leaf), dict):
            node[leaf][""] = json_or_value(attributes[key])
        else:
            node[leaf] = json_or_value(attributes[key])
    return nested


def trace_type_of(raw: Any) -> str:
    value = str(raw or "invocation").lower()
    return value if value in TRACE_TYPES else "unknown"


def span_type_of(raw: Any) -> str | None:
    """The span type a `SPAN_TYPE_KEYS` value names, None when it names none."""
    if isinstance(raw, str) and raw:
        value = SPAN_TYPE_ALIASES.get(raw.lower(), raw.lower())
        if value in SPAN_TYPES:
            return value
    return None


def _trace_type(attributes: dict[str, Any]) -> str:
    return trace_type_of(attributes.get(TRACE_TYPE_KEY))


def _span_type(attributes: dict[str, Any], *, has_model: bool) -> str:
    for key in SPAN_TYPE_KEYS:
        found = span_type_of(attributes.get(key))
        if found is not None:
            return found
    if has_model or LLM_SYSTEM_KEY in attributes:
        return "llm"
    return "unknown"


def _inputs(attributes: dict[str, Any]) -> tuple[Any, str | None]:
    return _data(attributes, INPUT_VALUE_KEYS, INPUTS_PREFIX, INPUT_VALUE_KEY, INPUT_MESSAGES)


def _outputs(attributes: dict[str, Any]) -> tuple[Any, str | None]:
    return _data(attributes, OUTPUT_VALUE_KEYS, OUTPUTS_PREFIX, OUTPUT_VALUE_KEY, OUTPUT_MESSAGES)


def _data(
    attributes: dict[str, Any],
    value_keys: tuple[str, ...],
    prefix: str,
    value_key: str,
    messages_at: tuple[tuple[str, str], ...],
) -> tuple[Any, str | None]:
    for key in value_keys:
        if key in attributes:
            return json_and_text(attributes[key])
    flattened = _under(attributes, prefix)
    if flattened:
        return flattened, None
    if value_key in attributes:
        return json_and_text(attributes[value_key])
    for messages_prefix, inner in messages_at:
        messages = _indexed(attributes, messages_prefix, inner)
        if messages:
            return {"messages": messages}, None
    return None, None


def _under(attributes: dict[str, Any], prefix: str) -> dict[str, Any]:
    found = {key[len(prefix) :]: value for key, value in attributes.items() if key.startswith(prefix)}
    return unflatten(found) if found else {}


def _indexed(attributes: dict[str, Any], prefix: str, inner: str) -> list[dict[str, Any]]:
    """`prefix.0.<inner>role`, `prefix.0.<inner>content`, ... as `[{"role": ..., "content": ...}, ...]`."""
    items: dict[int, dict[str, Any]] = {}
    for key, value in attributes.items():
        if not key.startswith(prefix):
            continue
        index, _, rest = key[len(prefix) :].partition(".")
        if not index.isdigit() or not rest.startswith(inner):
            continue
        items.setdefault(int(index), {})[rest[len(inner) :]] = value
    return [items[index] for index in sorted(items)]


def json_and_text(value: Any) -> tuple[Any, str | None]:
    """`_json_or_value`, and the JSON text it decoded (None when the value was not JSON text)."""
    if isinstance(value, str):
        text = value[len(AGENTA_JSON_MARKER) :] if value.startswith(AGENTA_JSON_MARKER) else value
        decoded = json_or_value(value)
        return decoded, (text if decoded is not value and decoded != text else None)
    return value, None


def json_or_value(value: Any) -> Any:
    """A JSON-encoded attribute (how SDKs carry structured data in OTel strings) decoded; anything else as is.

    Agenta's SDK marks the values it encoded: `@ag.type=json:{...}`.
    """
    if isinstance(value, str):
        if value.startswith(AGENTA_JSON_MARKER):
            value = value[len(AGENTA_JSON_MARKER) :]
        elif value[:1] not in ("{", "[", '"'):
            return value
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _first(attributes: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = attributes.get(key)
        if value is not None and value != "":
            return value
    return None


def _first_str(attributes: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    value = _first(attributes, keys)
    return None if value is None else str(value)


def _first_int(attributes: dict[str, Any], keys: tuple[str, ...]) -> int | None:
    value = _first(attributes, keys)
    try:
        return None if value is None else int(float(value))
    except (TypeError, ValueError):
        return None


def _first_float(attributes: dict[str, Any], keys: tuple[str, ...]) -> float | None:
    value = _first(attributes, keys)
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None
