"""Rendering a prompt's messages with a request's inputs, in the four template formats of the registry.

`lamina.applications.prompt` checks a template's syntax and variables at commit time; this module fills the
variables at invoke time. Variables resolve at the root of the inputs or nested (`{{user.name}}`,
`{{items[0]}}`, and, as Agenta does, `{{inputs.user}}`). A variable the inputs lack is a 400 that names it,
never a prompt sent with a hole in it. Objects and lists render as compact JSON; nothing is HTML-escaped
(a prompt is not HTML).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from lamina.applications.prompt import (
    VARIABLE_FINDERS,
    Message,
    TemplateFormat,
    TemplateSyntaxProblem,
)
from lamina.errors import LaminaError


class MissingVariableError(LaminaError):
    status_code = 400
    code = "missing_variable"

    def __init__(self, name: str, template_format: str) -> None:
        super().__init__(
            f"the prompt uses the variable {name!r} ({template_format}) but the inputs do not provide it",
            details={"variable": name},
        )
        self.variable = name


class TemplateRenderError(LaminaError):
    status_code = 400
    code = "invalid_template"


_MISSING = object()
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _stringify(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if value is None:
        return ""
    return str(value)


def resolve_path(context: dict[str, Any], expression: str) -> Any:
    """`a.b[0].c` (or `a.b.0.c`) in `context`; a literal key named like the whole expression wins."""
    if expression in context:
        return context[expression]
    value: Any = context
    for name, index in _PATH_PART.findall(expression):
        key: str | int = int(index) if index else name
        if isinstance(value, dict) and str(key) in value:
            value = value[str(key)]
        elif isinstance(value, list) and str(key).isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return _MISSING
    return value


# ---------------------------------------------------------------- per format

_CURLY = re.compile(r"\{\{\s*(.*?)\s*\}\}")


def render_curly(text: str, context: dict[str, Any]) -> str:
    def substitute(match: re.Match[str]) -> str:
        value = resolve_path(context, match.group(1))
        if value is _MISSING:
            raise MissingVariableError(match.group(1), "curly")
        return _stringify(value)

    return _CURLY.sub(substitute, text)


def render_fstring(text: str, context: dict[str, Any]) -> str:
    try:
        return text.format_map(context)
    except KeyError as error:
        raise MissingVariableError(str(error.args[0]), "fstring") from error
    except (AttributeError, IndexError, ValueError) as error:
        raise TemplateRenderError(f"fstring template: {error}") from error


def _jinja2_environment() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class PromptUndefined(StrictUndefined):
        """Printing a missing value fails (a 400 naming it); testing one (`{% if user.vip %}`) is false."""

        def __bool__(self) -> bool:  # type: ignore[override]
            return False

    # Immutable sandbox: a template may not call methods that mutate the inputs, nor reach Python internals.
    return ImmutableSandboxedEnvironment(undefined=PromptUndefined, autoescape=False)


_UNDEFINED_NAME = re.compile(r"'([^']+)' is undefined|has no attribute '([^']+)'")


def render_jinja2(text: str, context: dict[str, Any]) -> str:
    from jinja2 import TemplateError, UndefinedError

    from lamina.state import current

    environment = current().memo("services:jinja2_environment", _jinja2_environment)
    try:
        return str(environment.from_string(text).render(**context))
    except UndefinedError as error:
        found = _UNDEFINED_NAME.search(str(error))
        name = next(group for group in found.groups() if group) if found else str(error)
        raise MissingVariableError(name, "jinja2") from error
    except TemplateError as error:
        raise TemplateRenderError(f"jinja2 template: {error}") from error


_MUSTACHE_TAG = re.compile(r"\{\{(\{)?\s*([#^/!&]?)\s*(.*?)\s*\}?\}\}", re.DOTALL)


def _mustache_lookup(stack: list[Any], name: str) -> Any:
    if name == ".":
        return stack[-1]
    head, _, rest = name.partition(".")
    for scope in reversed(stack):
        if isinstance(scope, dict) and head in scope:
            return resolve_path(scope[head], rest) if rest and isinstance(scope[head], dict) else scope[head]
    return _MISSING


def _mustache_tree(text: str) -> list[Any]:
    """Text and `(sigil, name, children)` nodes; sections nest."""
    root: list[Any] = []
    stack: list[tuple[str, list[Any]]] = [("", root)]
    position = 0
    for match in _MUSTACHE_TAG.finditer(text):
        stack[-1][1].append(text[position : match.start()])
        position = match.end()
        _, sigil, name = match.groups()
        if sigil == "!":
            continue
        if sigil in ("#", "^"):
            children: list[Any] = []
            stack[-1][1].append((sigil, name, children))
            stack.append((name, children))
        elif sigil == "/":
            if len(stack) == 1 or stack[-1][0] != name:
                raise TemplateRenderError(f"mustache: {{{{/{name}}}}} closes no open section")
            stack.pop()
        else:
            stack[-1][1].append(("", name, None))
    if len(stack) > 1:
        raise TemplateRenderError(f"mustache: section {{{{#{stack[-1][0]}}}}} is never closed")
    stack[-1][1].append(text[position:])
    return root


def _render_mustache_nodes(nodes: list[Any], stack: list[Any], out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
            continue
        sigil, name, children = node
        value = _mustache_lookup(stack, name)
        if sigil == "":
            out.append("" if value is _MISSING else _stringify(value))
        elif sigil == "^":
            if value is _MISSING or not value:
                _render_mustache_nodes(children, stack, out)
        elif isinstance(value, list):
            for item in value:
                _render_mustache_nodes(children, [*stack, item], out)
        elif value is not _MISSING and value:
            _render_mustache_nodes(children, [*stack, value], out)


def render_mustache(text: str, context: dict[str, Any]) -> str:
    """Mustache variables, sections, inverted sections and comments (no partials: a prompt has none)."""
    out: list[str] = []
    _render_mustache_nodes(_mustache_tree(text), [context], out)
    return "".join(out)


RENDERERS: dict[str, Callable[[str, dict[str, Any]], str]] = {
    "curly": render_curly,
    "fstring": render_fstring,
    "jinja2": render_jinja2,
    "mustache": render_mustache,
}


# ---------------------------------------------------------------- messages


def template_context(inputs: dict[str, Any]) -> dict[str, Any]:
    """Inputs at the root and under `inputs` (Agenta's dual access: `{{country}}` and `{{inputs.country}}`)."""
    return {**inputs, "inputs": dict(inputs)} if "inputs" not in inputs else dict(inputs)


def _check_root_variables(text: str, template_format: TemplateFormat, context: dict[str, Any]) -> None:
    """Every top-level name the template uses is present, whatever the format does with a missing one."""
    try:
        names = VARIABLE_FINDERS[template_format](text)
    except TemplateSyntaxProblem as error:
        raise TemplateRenderError(f"{template_format} template: {error}") from error
    for name in sorted(names, key=text.find):
        if name not in context:
            raise MissingVariableError(name, template_format)


def render_text(text: str, template_format: TemplateFormat, context: dict[str, Any]) -> str:
    _check_root_variables(text, template_format, context)
    return RENDERERS[template_format](text, context)


def render_messages(
    messages: list[Message], template_format: TemplateFormat, inputs: dict[str, Any]
) -> list[dict[str, Any]]:
    """The prompt's messages as a provider takes them, with every text rendered."""
    context = template_context(inputs)
    rendered: list[dict[str, Any]] = []
    for message in messages:
        payload = message.model_dump(mode="json", exclude_none=True)
        if isinstance(message.content, str):
            payload["content"] = render_text(message.content, template_format, context)
        elif isinstance(message.content, list):
            for part in payload["content"]:
                if isinstance(part.get("text"), str):
                    part["text"] = render_text(part["text"], template_format, context)
        rendered.append(payload)
    return rendered
