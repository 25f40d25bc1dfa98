"""The inputs mapping: a JSON template whose `$...` strings are paths into the trigger's context.

The language is deliberately small (Agenta's `inputs_fields`, reduced to what it needs):
- `$` is the whole context; `$.event.attributes.user.name` walks object keys; `$.items[0]` (or `$.items.0`)
  indexes a list; keys with other characters read `$["odd key"]`.
- a template that is an object or a list is mapped leaf by leaf; any other leaf is a literal;
- a path that finds nothing maps to null (an event without the field runs with a null input, not an error).

The context a trigger sees: `event` (`event_id`, `event_type`, `timestamp`, `attributes` = the event's
payload), `payload` (the payload again, shorter to write), `trigger` (`id`, `name`, `tags`, `meta`), and
`scope` (`project_id`).
"""

from __future__ import annotations

import re
from typing import Any

from lamina.triggers.errors import InvalidMappingError

MAX_TEMPLATE_DEPTH = 10
MAX_PATH_LENGTH = 500
_SEGMENT = re.compile(r"""\.([A-Za-z_][\w-]*|\d+)|\[(\d+)\]|\[["']([^"']*)["']\]""")


def parse_path(path: str) -> list[str | int]:
    """`$.a[0].b` -> ["a", 0, "b"]; InvalidMappingError (400) naming the path when it is not one."""
    if not path.startswith("$") or len(path) > MAX_PATH_LENGTH:
        raise InvalidMappingError(f"{path!r}: a path starts with '$' (e.g. '$.payload.name')")
    segments: list[str | int] = []
    position = 1
    while position < len(path):
        match = _SEGMENT.match(path, position)
        if match is None:
            raise InvalidMappingError(f"{path!r}: cannot read the path from {path[position:]!r}")
        name, index, quoted = match.groups()
        if index is not None:
            segments.append(int(index))
        elif quoted is not None:
            segments.append(quoted)
        else:
            segments.append(int(name) if name.isdigit() else name)
        position = match.end()
    return segments


def _lookup(context: Any, segments: list[str | int]) -> Any:
    value = context
    for segment in segments:
        if isinstance(value, dict):
            value = value.get(str(segment))
        elif isinstance(value, list) and isinstance(segment, int) and -len(value) <= segment < len(value):
            value = value[segment]
        else:
            return None
    return value


def _is_path(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("$")


def validate_template(template: Any, depth: int = 0, where: str = "inputs_fields") -> None:
    """Refuse, at create time, a template whose paths could never be read (400 naming the place)."""
    if depth > MAX_TEMPLATE_DEPTH:
        raise InvalidMappingError(f"{where}: nests more than {MAX_TEMPLATE_DEPTH} deep")
    if isinstance(template, dict):
        for key, value in template.items():
            validate_template(value, depth + 1, f"{where}.{key}")
    elif isinstance(template, list):
        for index, value in enumerate(template):
            validate_template(value, depth + 1, f"{where}[{index}]")
    elif _is_path(template):
        try:
            parse_path(template)
        except InvalidMappingError as error:
            raise InvalidMappingError(f"{where}: {error}") from None


def resolve(template: Any, context: dict[str, Any], depth: int = 0) -> Any:
    """The template with every path replaced by what it finds in `context` (null when nothing)."""
    if depth > MAX_TEMPLATE_DEPTH:
        return None
    if isinstance(template, dict):
        return {key: resolve(value, context, depth + 1) for key, value in template.items()}
    if isinstance(template, list):
        return [resolve(value, context, depth + 1) for value in template]
    if _is_path(template):
        return _lookup(context, parse_path(template))
    return template


def resolve_inputs(template: Any, context: dict[str, Any]) -> dict[str, Any]:
    """The application's inputs: the mapped template (no template: the event's payload) as an object."""
    mapped = resolve(template if template is not None else "$.payload", context)
    if isinstance(mapped, dict):
        return mapped
    # A template that maps to a scalar or a list still runs: under `inputs`, visibly.
    return {"inputs": mapped}
