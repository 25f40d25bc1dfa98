"""The evaluators that need nothing but the values: matching, JSON comparison and string similarity.

Each takes `(settings, case)` and returns its outputs (`{"success": bool}` and, for graded kinds,
`{"score": float}`); a setting or value it cannot use raises EvaluatorInputError with a message.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

DEFAULT_CORRECT_ANSWER_KEY = "correct_answer"
DEFAULT_THRESHOLD = 0.5
# A regex runs on untrusted output: patterns and texts are bounded so one case cannot stall a worker.
MAX_REGEX_PATTERN = 2_000
MAX_MATCH_TEXT = 200_000
# Edit distance and difflib are quadratic in pure Python: longer texts are refused rather than stall a worker.
MAX_SIMILARITY_TEXT = 5_000


class EvaluatorInputError(ValueError):
    """A setting or value an evaluator cannot use (the outcome's `error`)."""


@dataclass(frozen=True)
class Case:
    inputs: dict[str, Any]
    outputs: Any
    testcase: dict[str, Any]

    def output_text(self) -> str:
        return as_text(self.outputs)

    def expected(self, settings: dict[str, Any]) -> Any:
        key = settings.get("correct_answer_key") or DEFAULT_CORRECT_ANSWER_KEY
        if key in self.testcase:
            return self.testcase[key]
        if key in self.inputs:
            return self.inputs[key]
        raise EvaluatorInputError(f"the test case has no {key!r} column (correct_answer_key)")


def as_text(value: Any) -> str:
    """Outputs as text: a string as is, a chat message's content, anything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) >= {"role", "content"} and isinstance(value["content"], str):
        return value["content"]
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def as_json(value: Any) -> Any:
    """A value parsed as JSON when it is a string that holds JSON, else itself."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _fold(text: str, settings: dict[str, Any]) -> str:
    return text if settings.get("case_sensitive", True) else text.casefold()


def _substrings(settings: dict[str, Any]) -> list[str]:
    raw = settings.get("substrings")
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise EvaluatorInputError("substrings must be a list of strings or a comma-separated string")
    cleaned = [item.strip() for item in items if item.strip()]
    if not cleaned:
        raise EvaluatorInputError("substrings is empty")
    return cleaned


def threshold_of(settings: dict[str, Any], key: str = "threshold") -> float:
    value = settings.get(key, DEFAULT_THRESHOLD)
    if value is None:
        return DEFAULT_THRESHOLD
    if not isinstance(value, int | float) or not 0 <= value <= 1:
        raise EvaluatorInputError(f"{key} must be a number between 0 and 1")
    return float(value)


def _graded(score: float, threshold: float) -> dict[str, Any]:
    return {"score": round(score, 6), "success": score >= threshold}


# ---------------------------------------------------------------- matching


def exact_match(settings: dict[str, Any], case: Case) -> dict[str, Any]:
    expected = case.expected(settings)
    outputs = case.outputs
    same = outputs == expected or case.output_text() == as_text(expected)
    return {"success": bool(same)}


def regex_test(settings: dict[str, Any], case: Case) -> dict[str, Any]:
    pattern = settings.get("regex_pattern")
    if not isinstance(pattern, str) or len(pattern) > MAX_REGEX_PATTERN:
        raise EvaluatorInputError(f"regex_pattern must be a string of at most {MAX_REGEX_PATTERN} characters")
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise EvaluatorInputError(f"regex_pattern does not compile: {error}") from error
    found = compiled.search(case.output_text()[:MAX_MATCH_TEXT]) is not None
    return {"success": found == bool(settings.get("regex_should_match", True))}


def starts_with(settings: dict[str, Any], case: Case) -> dict[str, Any]:
    prefix = settings.get("prefix")
    if not isinstance(prefix, str):
        raise EvaluatorInputError("prefix must be a string")
    return {"success": _fold(case.output_text(), settings).startswith(_fold(prefix, settings))}


def ends_with(settings: dict[str, Any], case: Case) -> dict[str, Any]:
    suffix = settings.get("suffix")
    if not isinstance(suffix, str):
        raise EvaluatorInputError("suffix must be a string")
    return {"success": _fold(case.output_text(), settings).endswith(_fold(suffix, settings))}


def contains(settings: dict[str, Any], case: Case) -> dict[str, Any]:
    substring = settings.get("substring")
    if not isinstance(substring, str):
        raise EvaluatorInputError("substring must be a string")
    return {"success": _fold(substring, settings) in _fold(case.output_text(), settings)}


def contains_any(settings: dict[str, Any], case: Case) -> dict[str, Any]:
    text = _fold(case.output_text(), settings)
    return {"success": any(_fold(item, settings) in text for item in _substrings(settings))}


def contains_all(settings: dict[str, Any], case: Case) -> dict[str, Any]:
    text = _fold(case.output_text(), settings)
    return {"success": all(_fold(item, settings) in text for item in _substrings(settings))}


def contains_json(settings: dict[str, Any], case: Case) -> dict[str, Any]:
    """Some `{...}` in the output parses as a JSON object (structured outputs count as JSON)."""
    if isinstance(case.outputs, dict | list):
        return {"success": True}
    text = case.output_text()
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return {"success": False}
    try:
        json.loads(text[start : end + 1])
    except ValueError:
        return {"success": False}
    return {"success": True}


# ---------------------------------------------------------------- JSON


def _field(value: Any, path: str) -> Any:
    for part in [p for p in path.split(".") if p]:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise EvaluatorInputError(f"the output has no field {path!r}")
    return value


def json_field_match(settings: dict[str, Any], case: Case) -> dict[str, Any]:
    path = settings.get("json_field")
    if not isinstance(path, str) or not path:
        raise EvaluatorInputError("json_field must name a field (dot path)")
    parsed = as_json(case.outputs)
    if not isinstance(parsed, dict | list):
        return {"success": False}
    try:
        got = _field(parsed, path)
    except EvaluatorInputError:
        return {"success": False}
    expected = case.expected(settings)
    return {"success": got == expected or as_text(got) == as_text(expected)}


def _leaves(value: Any, prefix: str, fold_keys: bool) -> dict[str, Any]:
    if isinstance(value, dict):
        found: dict[str, Any] = {}
        for key, item in value.items():
            name = str(key).casefold() if fold_keys else str(key)
            found.update(_leaves(item, f"{prefix}.{name}" if prefix else name, fold_keys))
        return found or {prefix: {}}
    return {prefix: value}


def json_diff(settings: dict[str, Any], case: Case) -> dict[str, Any]:
    """The share of the expected JSON's leaves the output has equal (or of the same type, schema only);
    with predict_keys, the output's extra leaves count against it too."""
    expected = as_json(case.expected(settings))
    got = as_json(case.outputs)
    if not isinstance(expected, dict):
        raise EvaluatorInputError("the expected answer is not a JSON object")
    if not isinstance(got, dict):
        return {"score": 0.0, "success": False}
    fold = bool(settings.get("case_insensitive_keys"))
    want, have = _leaves(expected, "", fold), _leaves(got, "", fold)
    schema_only = bool(settings.get("compare_schema_only"))
    keys = set(want) | (set(have) if settings.get("predict_keys") else set())

    def same(key: str) -> bool:
        if key not in want or key not in have:
            return False
        if schema_only:
            return type(want[key]) is type(have[key])
        return bool(want[key] == have[key])

    score = sum(same(key) for key in keys) / len(keys) if keys else 1.0
    return _graded(score, threshold_of(settings))


# ---------------------------------------------------------------- similarity


def levenshtein_distance(a: str, b: str) -> int:
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def _compared_texts(settings: dict[str, Any], case: Case) -> tuple[str, str]:
    got, expected = case.output_text(), as_text(case.expected(settings))
    if max(len(got), len(expected)) > MAX_SIMILARITY_TEXT:
        raise EvaluatorInputError(f"similarity compares texts of at most {MAX_SIMILARITY_TEXT} characters")
    return got, expected


def levenshtein(settings: dict[str, Any], case: Case) -> dict[str, Any]:
    got, expected = _compared_texts(settings, case)
    longest = max(len(got), len(expected))
    distance = levenshtein_distance(got, expected)
    score = 1.0 - distance / longest if longest else 1.0
    return {**_graded(score, threshold_of(settings)), "distance": distance}


def similarity(settings: dict[str, Any], case: Case) -> dict[str, Any]:
    got, expected = _compared_texts(settings, case)
    score = SequenceMatcher(None, got, expected).ratio()
    return _graded(score, threshold_of(settings, "similarity_threshold"))


_WORD = re.compile(r"\w+", re.UNICODE)


def _features(text: str) -> Counter[str]:
    words = [word.casefold() for word in _WORD.findall(text)]
    grams = [f"#{word[i : i + 3]}" for word in words for i in range(max(1, len(word) - 2))]
    return Counter(words + grams)


def semantic_similarity(settings: dict[str, Any], case: Case) -> dict[str, Any]:
    """Cosine similarity of word and character-trigram counts: a local approximation that needs no
    network and no model. It sees shared words and word forms, not meaning (synonyms score low)."""
    a, b = _features(case.output_text()), _features(as_text(case.expected(settings)))
    dot = sum(count * b[key] for key, count in a.items())
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    score = dot / norm if norm else float(not a and not b)
    return _graded(score, threshold_of(settings))


MATCHERS: dict[str, Callable[[dict[str, Any], Case], dict[str, Any]]] = {
    "auto_exact_match": exact_match,
    "auto_regex_test": regex_test,
    "auto_starts_with": starts_with,
    "auto_ends_with": ends_with,
    "auto_contains": contains,
    "auto_contains_any": contains_any,
    "auto_contains_all": contains_all,
    "auto_contains_json": contains_json,
    "field_match_test": json_field_match,
    "auto_json_diff": json_diff,
    "auto_levenshtein_distance": levenshtein,
    "auto_similarity_match": similarity,
    "auto_semantic_similarity": semantic_similarity,
}
