"""Shape plans: what an attribute key set says before any value is read.

The spans of a batch share a handful of attribute key sets (one per instrumented function or call type), so
all that `normalize` and `unflatten` derive from the keys alone (which attribute names the model, the tokens,
the inputs; the nested JSON shape of the attributes) is worked out once per key set, and `rows` handles only
the values per span.
"""

from __future__ import annotations

from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from typing import Any

from lamina.tracing import normalize as n


@dataclass(frozen=True)
class DataPlan:
    """Where a key set keeps a span's inputs (or outputs), by attribute position."""

    value_at: int | None = None
    under: tuple[tuple[str, int], ...] = ()
    messages: tuple[tuple[tuple[str, int], ...], ...] = ()


@dataclass(frozen=True)
class ShapePlan:
    """What one attribute key set says before any value is read (positions in the key tuple)."""

    keys: tuple[str, ...]
    trace_type_at: int | None
    span_type_at: tuple[int, ...]
    has_llm_system: bool
    model_at: tuple[int, ...]
    prompt_at: tuple[int, ...]
    completion_at: tuple[int, ...]
    total_at: tuple[int, ...]
    cost_at: tuple[int, ...]
    session_at: tuple[int, ...]
    user_at: tuple[int, ...]
    inputs: DataPlan
    outputs: DataPlan
    # The nested attributes document with `%s` where each value goes (in `slots` order); None when a key is
    # also another key's prefix, whose nesting depends on the values (`unflatten` handles those).
    template: str | None
    slots: tuple[int, ...]
    in_key_order: bool


def plan_shape(keys: tuple[str, ...]) -> ShapePlan:
    position: dict[str, int] = {}
    for index, key in enumerate(keys):
        position[key] = index

    def present(names: tuple[str, ...]) -> tuple[int, ...]:
        return tuple(position[name] for name in names if name in position)

    template, slots = _template(keys)
    return ShapePlan(
        keys=keys,
        trace_type_at=position.get(n.TRACE_TYPE_KEY),
        span_type_at=present(n.SPAN_TYPE_KEYS),
        has_llm_system=n.LLM_SYSTEM_KEY in position,
        model_at=present(n.MODEL_KEYS),
        prompt_at=present(n.PROMPT_TOKEN_KEYS),
        completion_at=present(n.COMPLETION_TOKEN_KEYS),
        total_at=present(n.TOTAL_TOKEN_KEYS),
        cost_at=present(n.COST_KEYS),
        session_at=present(n.SESSION_KEYS),
        user_at=present(n.USER_KEYS),
        inputs=_data_plan(
            keys, position, n.INPUT_VALUE_KEYS, n.INPUTS_PREFIX, n.INPUT_VALUE_KEY, n.INPUT_MESSAGES
        ),
        outputs=_data_plan(
            keys, position, n.OUTPUT_VALUE_KEYS, n.OUTPUTS_PREFIX, n.OUTPUT_VALUE_KEY, n.OUTPUT_MESSAGES
        ),
        template=template,
        slots=slots,
        in_key_order=slots == tuple(range(len(keys))),
    )


def _data_plan(
    keys: tuple[str, ...],
    position: dict[str, int],
    value_keys: tuple[str, ...],
    prefix: str,
    value_key: str,
    messages_at: tuple[tuple[str, str], ...],
) -> DataPlan:
    for key in value_keys:
        if key in position:
            return DataPlan(value_at=position[key])
    under = tuple((key[len(prefix) :], index) for index, key in enumerate(keys) if key.startswith(prefix))
    if under:
        return DataPlan(under=under)
    if value_key in position:
        return DataPlan(value_at=position[value_key])
    for messages_prefix, inner in messages_at:
        items: dict[int, dict[str, int]] = {}
        for index, key in enumerate(keys):
            if not key.startswith(messages_prefix):
                continue
            number, _, rest = key[len(messages_prefix) :].partition(".")
            if number.isdigit() and rest.startswith(inner):
                items.setdefault(int(number), {})[rest[len(inner) :]] = index
        if items:
            return DataPlan(messages=tuple(tuple(items[i].items()) for i in sorted(items)))
    return DataPlan()


def _template(keys: tuple[str, ...]) -> tuple[str | None, tuple[int, ...]]:
    nested: dict[str, Any] = {}
    for index, key in enumerate(keys):
        node = nested
        *parents, leaf = key.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                return None, ()
            node = child
        if leaf in node:
            return None, ()
        node[leaf] = index
    slots: list[int] = []

    def render(node: dict[str, Any]) -> str:
        members = []
        for name, value in node.items():
            if isinstance(value, dict):
                inner = render(value)
            else:
                slots.append(value)
                inner = "%s"
            members.append(f"{encode_basestring_ascii(name).replace('%', '%%')}:{inner}")
        return "{" + ",".join(members) + "}"

    return render(nested), tuple(slots)
