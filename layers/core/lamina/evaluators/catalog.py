"""The built-in evaluator kinds: Agenta's keys and URIs, a short Lamina alias, and each one's settings schema.

An evaluator revision's `data` is Agenta's workflow revision data: `uri` is `agenta:builtin:<key>:v0`, and
`parameters` holds the settings this module's schema describes (Agenta's parameter names). The custom code
kind takes its code from `parameters.code` or `script`; the webhook kind its URL from
`parameters.webhook_url` or `url`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lamina.errors import ValidationFailedError

URI_PREFIX = "agenta:builtin:"
URI_VERSION = "v0"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

_CORRECT_ANSWER_KEY = {
    "type": "string",
    "default": "correct_answer",
    "description": "The test case column holding the expected answer.",
}
_CASE_SENSITIVE = {"type": "boolean", "default": True}


@dataclass(frozen=True)
class EvaluatorKind:
    key: str
    alias: str
    name: str
    description: str
    properties: dict[str, Any] = field(default_factory=dict)
    required: tuple[str, ...] = ()

    @property
    def uri(self) -> str:
        return f"{URI_PREFIX}{self.key}:{URI_VERSION}"

    @property
    def settings_schema(self) -> dict[str, Any]:
        # Open to extra keys: Agenta's UI and SDK store a few of their own (`version`, `connection`...).
        return {
            "$schema": JSON_SCHEMA_DIALECT,
            "type": "object",
            "properties": self.properties,
            "required": list(self.required),
            "additionalProperties": True,
        }


KINDS: tuple[EvaluatorKind, ...] = (
    EvaluatorKind(
        "auto_exact_match",
        "exact_match",
        "Exact match",
        "The output equals the expected answer.",
        {"correct_answer_key": _CORRECT_ANSWER_KEY},
    ),
    EvaluatorKind(
        "auto_regex_test",
        "regex",
        "Regex test",
        "The output matches (or, with regex_should_match false, does not match) a regular expression.",
        {"regex_pattern": {"type": "string"}, "regex_should_match": {"type": "boolean", "default": True}},
        ("regex_pattern",),
    ),
    EvaluatorKind(
        "auto_starts_with",
        "starts_with",
        "Starts with",
        "The output starts with a prefix.",
        {"prefix": {"type": "string"}, "case_sensitive": _CASE_SENSITIVE},
        ("prefix",),
    ),
    EvaluatorKind(
        "auto_ends_with",
        "ends_with",
        "Ends with",
        "The output ends with a suffix.",
        {"suffix": {"type": "string"}, "case_sensitive": _CASE_SENSITIVE},
        ("suffix",),
    ),
    EvaluatorKind(
        "auto_contains",
        "contains",
        "Contains",
        "The output contains a substring.",
        {"substring": {"type": "string"}, "case_sensitive": _CASE_SENSITIVE},
        ("substring",),
    ),
    EvaluatorKind(
        "auto_contains_any",
        "contains_any",
        "Contains any",
        "The output contains at least one of the substrings (a list, or a comma-separated string).",
        {
            "substrings": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
            "case_sensitive": _CASE_SENSITIVE,
        },
        ("substrings",),
    ),
    EvaluatorKind(
        "auto_contains_all",
        "contains_all",
        "Contains all",
        "The output contains every one of the substrings (a list, or a comma-separated string).",
        {
            "substrings": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
            "case_sensitive": _CASE_SENSITIVE,
        },
        ("substrings",),
    ),
    EvaluatorKind(
        "auto_contains_json",
        "contains_json",
        "Contains JSON",
        "The output contains a parseable JSON object.",
    ),
    EvaluatorKind(
        "field_match_test",
        "json_field_match",
        "JSON field match",
        "A field of the JSON output (dot path) equals the expected answer.",
        {"json_field": {"type": "string"}, "correct_answer_key": _CORRECT_ANSWER_KEY},
        ("json_field",),
    ),
    EvaluatorKind(
        "auto_json_diff",
        "json_diff",
        "JSON diff",
        "The share of the expected JSON's leaf fields the output matches (0..1).",
        {
            "compare_schema_only": {"type": "boolean", "default": False},
            "predict_keys": {"type": "boolean", "default": False},
            "case_insensitive_keys": {"type": "boolean", "default": False},
            "threshold": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.5},
            "correct_answer_key": _CORRECT_ANSWER_KEY,
        },
    ),
    EvaluatorKind(
        "auto_levenshtein_distance",
        "levenshtein",
        "Levenshtein distance",
        "Normalised edit similarity to the expected answer (1 - distance / longer length); success at or "
        "above the threshold.",
        {
            "threshold": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.5},
            "correct_answer_key": _CORRECT_ANSWER_KEY,
        },
    ),
    EvaluatorKind(
        "auto_similarity_match",
        "similarity",
        "Similarity match",
        "Character-sequence similarity to the expected answer (difflib ratio, 0..1).",
        {
            "similarity_threshold": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.5},
            "correct_answer_key": _CORRECT_ANSWER_KEY,
        },
        ("similarity_threshold",),
    ),
    EvaluatorKind(
        "auto_semantic_similarity",
        "semantic_similarity",
        "Semantic similarity",
        "Cosine similarity of the output and the expected answer over word and character-trigram counts: "
        "a local approximation that needs no network and no model. It sees shared words and word forms, "
        "not meaning (no embeddings: synonyms score low).",
        {
            "correct_answer_key": _CORRECT_ANSWER_KEY,
            "threshold": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.5},
        },
    ),
    EvaluatorKind(
        "auto_ai_critique",
        "llm_judge",
        "LLM as a judge",
        "A model grades the output with a prompt and answers {score, reason}; called through the services "
        "layer (provider keys from the vault; the `mock` provider needs none).",
        {
            "prompt_template": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"role": {"type": "string"}, "content": {"type": "string"}},
                    "required": ["role", "content"],
                },
                "description": "Messages; {{inputs}}, {{outputs}}, {{prediction}}, {{ground_truth}}, "
                "{{correct_answer}} and each input name are substituted.",
            },
            "model": {"type": "string", "default": "gpt-4o-mini"},
            "threshold": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.5},
            "correct_answer_key": _CORRECT_ANSWER_KEY,
        },
        ("prompt_template",),
    ),
    EvaluatorKind(
        "auto_custom_code_run",
        "custom_code",
        "Custom code",
        "Python `evaluate(inputs, outputs, testcase)` (or Agenta's `evaluate(app_params, inputs, output, "
        "correct_answer)`) run in a sandboxed subprocess: no network, no environment secrets, CPU, memory "
        "and wall-clock limits; returns a number, a bool or a dict of outputs.",
        {
            "code": {"type": "string"},
            "runtime": {"type": "string", "enum": ["python"], "default": "python"},
            "timeout_s": {"type": "number", "minimum": 0.1, "maximum": 60, "default": 10},
            "correct_answer_key": _CORRECT_ANSWER_KEY,
        },
        ("code",),
    ),
    EvaluatorKind(
        "auto_webhook_test",
        "webhook",
        "Webhook",
        "POSTs {inputs, outputs, testcase} to a URL (SSRF-guarded) and reads {score, success?} back.",
        {
            "webhook_url": {"type": "string", "format": "uri"},
            "correct_answer_key": _CORRECT_ANSWER_KEY,
        },
        ("webhook_url",),
    ),
)

BY_KEY = {kind.key: kind for kind in KINDS}
BY_ALIAS = {kind.alias: kind for kind in KINDS}


def kind_of(name: str) -> EvaluatorKind:
    """A kind by Agenta's key (`auto_exact_match`), its URI, or Lamina's alias (`exact_match`)."""
    if name.startswith(URI_PREFIX):
        name = name[len(URI_PREFIX) :].split(":", 1)[0]
    found = BY_KEY.get(name) or BY_ALIAS.get(name)
    if found is None:
        raise ValidationFailedError(f"unknown evaluator kind {name!r}")
    return found


def check_settings(kind: EvaluatorKind, settings: dict[str, Any]) -> None:
    """ValidationFailedError naming the first setting off the kind's schema."""
    import jsonschema

    errors = sorted(
        jsonschema.Draft202012Validator(kind.settings_schema).iter_errors(settings), key=lambda e: e.path
    )
    if errors:
        where = ".".join(str(part) for part in errors[0].absolute_path) or "parameters"
        raise ValidationFailedError(f"{kind.key} settings: {where}: {errors[0].message}")


def catalog_view() -> list[dict[str, Any]]:
    """Every kind with its settings schema (the `/evaluators/catalog/...` routes)."""
    return [
        {
            "key": kind.key,
            "alias": kind.alias,
            "name": kind.name,
            "description": kind.description,
            "uri": kind.uri,
            "data": {"uri": kind.uri, "schemas": {"parameters": kind.settings_schema}},
        }
        for kind in KINDS
    ]
