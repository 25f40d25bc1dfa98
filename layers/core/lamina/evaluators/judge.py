"""LLM-as-a-judge: a prompted model grades one case and answers a score and a reason.

The model is called through the services layer as a library (`resolve_model_calls` for the project's
provider keys, `chat_completion` for the call with its retries), so a judge uses the same providers, vault
and `mock` provider as the playground. The model is asked for JSON `{score, reason}`; a score on 0..10 or
0..100 is scaled to 0..1, and a boolean counts as 1 or 0.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from lamina.evaluators.matchers import Case, EvaluatorInputError, as_text, threshold_of

DEFAULT_MODEL = "gpt-4o-mini"
REASON_KEYS = ("reason", "reasoning", "explanation", "answer", "comment")
JUDGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "score": {"type": "number", "description": "0 (wrong) to 1 (right)"},
        "reason": {"type": "string"},
    },
    "required": ["score", "reason"],
    "additionalProperties": False,
}
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*\}\}")


def _context(settings: dict[str, Any], case: Case) -> dict[str, str]:
    try:
        expected = as_text(case.expected(settings))
    except EvaluatorInputError:
        expected = ""
    context = {name: as_text(value) for name, value in case.inputs.items()}
    context.update(
        inputs=as_text(case.inputs),
        outputs=case.output_text(),
        prediction=case.output_text(),
        ground_truth=expected,
        correct_answer=expected,
        reference=expected,
    )
    return context


def render(messages: Any, context: dict[str, str]) -> list[dict[str, str]]:
    """`{{name}}` substituted in each message (an unknown name is left as written)."""
    if not isinstance(messages, list) or not messages:
        raise EvaluatorInputError("prompt_template must be a non-empty list of {role, content} messages")
    rendered = []
    for message in messages:
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            raise EvaluatorInputError("each prompt_template message needs a role and a text content")
        content = _VARIABLE.sub(lambda m: context.get(m.group(1), m.group(0)), message["content"])
        rendered.append({"role": str(message.get("role") or "user"), "content": content})
    return rendered


def _scaled(value: float) -> float:
    if value > 10:
        value /= 100
    elif value > 1:
        value /= 10
    return min(max(value, 0.0), 1.0)


def parse_verdict(content: str | None) -> tuple[float, str]:
    """(score in 0..1, reason) from the model's answer: its JSON `score`, else its first number."""
    text = (content or "").strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        score: Any = parsed.get("score")
        if score is None:
            score = next((v for v in parsed.values() if isinstance(v, int | float | bool)), None)
        reason = next((str(parsed[key]) for key in REASON_KEYS if parsed.get(key)), text)
        if isinstance(score, bool):
            return float(score), reason
        if isinstance(score, int | float):
            return _scaled(float(score)), reason
        if isinstance(score, str) and _NUMBER.search(score):
            return _scaled(float(_NUMBER.search(score).group())), reason  # type: ignore[union-attr]
    found = _NUMBER.search(text)
    if found is None:
        raise EvaluatorInputError(f"the judge answered no score: {text[:200]!r}")
    return _scaled(float(found.group())), text


async def judge(settings: dict[str, Any], case: Case, *, project_id: uuid.UUID | None) -> dict[str, Any]:
    from starlette.concurrency import run_in_threadpool

    from lamina.services.llm import RetrySettings, chat_completion
    from lamina.services.providers import resolve_model_calls
    from lamina.settings import get_settings

    messages = render(settings.get("prompt_template"), _context(settings, case))
    model = str(settings.get("model") or DEFAULT_MODEL)
    if project_id is None and not model.startswith("mock/"):
        raise EvaluatorInputError("the LLM judge needs the project whose provider key it uses")
    calls = await run_in_threadpool(
        resolve_model_calls, project_id or uuid.UUID(int=0), [model], local=get_settings().is_local
    )
    llm_config: dict[str, Any] = {
        "model": model,
        "temperature": 0,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "verdict", "schema": JUDGE_SCHEMA, "strict": True},
        },
    }
    call, response = await chat_completion(calls, messages, [llm_config], RetrySettings())
    content = response["choices"][0]["message"].get("content")
    score, reason = parse_verdict(content)
    threshold = threshold_of(settings)
    usage = response.get("usage") or {}
    return {
        "score": round(score, 6),
        "success": score >= threshold,
        "reason": reason,
        "model": call.requested,
        "tokens": usage.get("total_tokens"),
    }
