"""The prompt template's variables per template format, and what commit-time validation refuses."""

from __future__ import annotations

from typing import Any

import pytest

from lamina.applications.prompt import validate_prompt, validate_revision_data
from lamina.errors import ValidationFailedError


def prompt(
    content: str, template_format: str, input_keys: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "messages": [{"role": "user", "content": content}],
        "template_format": template_format,
        "llm_config": {"model": "gpt-4o-mini"},
        **extra,
    }
    if input_keys is not None:
        body["input_keys"] = input_keys
    return body


@pytest.mark.parametrize(
    ("template_format", "content", "expected"),
    [
        ("curly", "Hi {{ name }}, about {{topic.title}} and {{name}}", ["name", "topic"]),
        ("fstring", "Hi {name}, {items[0]} {{literal}}", ["name", "items"]),
        (
            "jinja2",
            "{% for x in items %}{{ x }} {{ sep }}{% endfor %}{{ name | upper }}",
            ["items", "sep", "name"],
        ),
        (
            "mustache",
            "{{! note}}Hi {{name}} {{{raw}}} {{#people}}{{first}}{{/people}}{{^empty}}none{{/empty}}",
            ["name", "raw", "people", "empty"],
        ),
    ],
)
def test_input_keys_are_derived_per_template_format(
    template_format: str, content: str, expected: list[str]
) -> None:
    normalised = validate_prompt(prompt(content, template_format))
    assert sorted(normalised["input_keys"]) == sorted(expected)
    # and stating them explicitly (in any order) is accepted
    validate_prompt(prompt(content, template_format, list(reversed(expected))))


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (prompt("{{a}} {{b}}", "curly", ["a"]), "does not list it"),
        (prompt("{{a}}", "curly", ["a", "unused"]), "'unused' is not used"),
        (prompt("{a} {}", "fstring"), "positional"),
        (prompt("{a", "fstring"), "invalid f-string"),
        (prompt("{% if x %}", "jinja2"), "invalid jinja2"),
        (prompt("{{#a}}x{{/b}}", "mustache"), "does not match"),
        (prompt("{{#a}}x", "mustache"), "never closed"),
        (prompt("hi", "handlebars"), "template_format"),
        ({"messages": [], "llm_config": {"model": "m"}}, "messages"),
        (prompt("hi", "curly", llm_config={"model": "m", "top_p": 3}), "llm_config.top_p"),
        (prompt("hi", "curly", llm_config={"model": "m", "temprature": 0.1}), "temprature"),
        (
            prompt("hi", "curly", llm_config={"model": "m", "response_format": {"type": "json_schema"}}),
            "json_schema",
        ),
        (
            prompt(
                "hi",
                "curly",
                llm_config={"model": "m", "tools": [{"type": "function", "function": {"name": "a b"}}]},
            ),
            "tools.0.function.name",
        ),
    ],
)
def test_invalid_templates_are_refused_with_a_pointed_message(body: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationFailedError) as refused:
        validate_revision_data({"parameters": {"prompt": body}})
    assert fragment in refused.value.message
    assert refused.value.message.startswith("data.parameters.prompt")


def test_data_without_a_prompt_passes_untouched() -> None:
    data = {"url": "https://example.com/app", "parameters": {"temperature": 1}}
    assert validate_revision_data(data) == data
