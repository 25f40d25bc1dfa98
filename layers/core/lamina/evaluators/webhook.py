"""Webhook evaluators: POST the case to a user's URL and read its verdict back.

The URL is user-supplied, so the call goes through the SSRF guard (`lamina.outbound`): refused address
ranges, one pinned DNS resolution, no redirects or proxies, https-only outside local mode.
The receiver gets `{inputs, outputs, testcase, correct_answer}` and answers `{score, success?, ...}` (or a
bare number).
"""

from __future__ import annotations

from typing import Any

from lamina.evaluators.matchers import Case, EvaluatorInputError, threshold_of
from lamina.evaluators.sandbox import outputs_of

MAX_RESPONSE_BYTES = 256 * 1024


def call_webhook(settings: dict[str, Any], case: Case) -> dict[str, Any]:
    import httpx

    from lamina.outbound import OutboundRefusedError, check_url, outbound_client

    url = settings.get("webhook_url")
    if not isinstance(url, str) or not url:
        raise EvaluatorInputError("webhook_url is empty")
    try:
        correct_answer = case.expected(settings)
    except EvaluatorInputError:
        correct_answer = None
    body = {
        "inputs": case.inputs,
        "outputs": case.outputs,
        "testcase": case.testcase,
        "correct_answer": correct_answer,
    }
    try:
        check_url(url)
        with outbound_client() as client:
            response = client.post(url, json=body)
    except OutboundRefusedError as error:
        raise EvaluatorInputError(f"webhook_url refused: {error.message}") from error
    except httpx.HTTPError as error:
        raise EvaluatorInputError(f"the webhook did not answer: {type(error).__name__}: {error}") from error
    if response.status_code >= 400:
        raise EvaluatorInputError(f"the webhook answered {response.status_code}: {response.text[:200]}")
    if len(response.content) > MAX_RESPONSE_BYTES:
        raise EvaluatorInputError(f"the webhook's answer is larger than {MAX_RESPONSE_BYTES} bytes")
    try:
        answer = response.json()
    except ValueError as error:
        raise EvaluatorInputError(f"the webhook's answer is not JSON: {response.text[:200]!r}") from error
    if isinstance(answer, dict) and isinstance(answer.get("score"), int | float) and "success" not in answer:
        answer = {**answer, "success": float(answer["score"]) >= threshold_of(settings)}
    return outputs_of(answer)
