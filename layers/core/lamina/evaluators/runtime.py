"""Running one evaluator on one case: `evaluate(kind, settings, inputs=..., outputs=..., testcase=...)`.

The library interface the evaluation worker calls. It never raises for a case: an evaluator that fails
(bad settings, a value it cannot read, user code that raises or is killed, a judge or webhook that does not
answer) yields an outcome with `error` set and empty `outputs`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from lamina.errors import LaminaError
from lamina.evaluators.catalog import kind_of
from lamina.evaluators.matchers import MATCHERS, Case, EvaluatorInputError

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class EvaluatorOutcome:
    """`outputs` such as `{"score": 0.8, "success": True}` (empty on error); `error` says why it failed."""

    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    duration_ms: float = 0.0


def _run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run async I/O from sync code, also when the caller is already inside an event loop (on a thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _dispatch(
    kind: str, settings: dict[str, Any], case: Case, project_id: uuid.UUID | None
) -> dict[str, Any]:
    matcher = MATCHERS.get(kind)
    if matcher is not None:
        return matcher(settings, case)
    if kind == "auto_custom_code_run":
        from lamina.evaluators.sandbox import run_code_evaluator

        return run_code_evaluator(settings, case)
    if kind == "auto_ai_critique":
        from lamina.evaluators.judge import judge

        return _run_coroutine(judge(settings, case, project_id=project_id))
    if kind == "auto_webhook_test":
        from lamina.evaluators.webhook import call_webhook

        return call_webhook(settings, case)
    raise EvaluatorInputError(f"evaluator kind {kind!r} cannot run on the server")


def evaluate(
    kind: str,
    settings: dict[str, Any],
    *,
    inputs: dict[str, Any],
    outputs: Any,
    testcase: dict[str, Any],
    project_id: uuid.UUID | None = None,
) -> EvaluatorOutcome:
    """Run the evaluator `kind` (Agenta's key such as `auto_exact_match`, its `agenta:builtin:` URI, or
    Lamina's alias such as `exact_match`) with `settings` on one case.

    `inputs` are the application's inputs, `outputs` what it answered, `testcase` the test case's row
    (where `correct_answer_key` is looked up). `project_id` picks the provider keys of the LLM judge (not
    needed for the `mock` provider). Sync; the judge, the webhook and the code sandbox block for their I/O.
    """
    started = time.perf_counter()
    try:
        key = kind_of(kind).key
        result = _dispatch(
            key, dict(settings or {}), Case(dict(inputs or {}), outputs, dict(testcase or {})), project_id
        )
        return EvaluatorOutcome(outputs=result, duration_ms=(time.perf_counter() - started) * 1000)
    except (EvaluatorInputError, LaminaError) as error:
        message = error.message if isinstance(error, LaminaError) else str(error)
        return EvaluatorOutcome(error=message, duration_ms=(time.perf_counter() - started) * 1000)
    except Exception as error:  # an evaluator's fault must not fail the scenario's worker
        logger.warning("evaluator failed", extra={"kind": kind, "error": repr(error)})
        return EvaluatorOutcome(
            error=f"{type(error).__name__}: {error}", duration_ms=(time.perf_counter() - started) * 1000
        )
