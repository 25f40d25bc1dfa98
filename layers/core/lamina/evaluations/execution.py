"""Running a batch of scenarios inside one worker invocation: the application through the services layer,
then the evaluators, each scenario x repeat; concurrently up to the run's concurrency, which is shared across
invocations through `RunSlots`.

Design: a message carries a batch of scenario ids. The services layer is async (litellm's acompletion), so
one invocation runs its batch on one event loop, as many scenarios at a time as the run's slots allow; the
slots are released as each scenario finishes, so other invocations working on the same run take them over.
Nothing here touches the database: the handler writes every outcome in its own transaction, with its inbox
record (effectively once), and result writes are upserts on (scenario, step, repeat) besides.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lamina.errors import LaminaError, RateLimitedError
from lamina.evaluations.limits import RunSlots, record_tokens, take_request
from lamina.evaluations.schemas import RunStatus
from lamina.tenancy.principal import Principal

logger = logging.getLogger(__name__)

APPLICATION_STEP = "application"
# A 429 (after the services layer's own retries) backs off in-process this long per scenario; past it the
# scenario is deferred to a later message instead of failing.
RATE_LIMIT_BUDGET_S = 30.0
RATE_LIMIT_FIRST_DELAY_S = 0.5
RATE_LIMIT_MAX_DELAY_S = 8.0
SLOT_POLL_S = 0.01
SLOT_POLL_MAX_S = 0.1
ERROR_MAX_CHARS = 2000


@dataclass(frozen=True)
class Application:
    revision_id: uuid.UUID
    kind: str  # "completion" or "chat"
    parameters: dict[str, Any]
    provider: str


@dataclass(frozen=True)
class Evaluator:
    step_key: str
    revision_id: uuid.UUID
    kind: str
    settings: dict[str, Any]


@dataclass(frozen=True)
class ScenarioWork:
    id: uuid.UUID
    testcase_id: uuid.UUID | None
    application_revision_id: uuid.UUID | None
    inputs: dict[str, Any]


@dataclass
class ScenarioOutcome:
    scenario_id: uuid.UUID
    status: RunStatus
    error: str | None = None
    deferred: bool = False
    results: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class BatchPlan:
    run_id: uuid.UUID
    principal: Principal
    repeats: int
    concurrency: int
    applications: dict[uuid.UUID, Application]
    evaluators: list[Evaluator]
    local: bool
    rate_limit_budget_s: float = RATE_LIMIT_BUDGET_S


class Deferred(Exception):
    """The provider kept answering 429 past the budget: try the scenario again in a later message."""


def _error(error: BaseException) -> dict[str, Any]:
    message = error.message if isinstance(error, LaminaError) else str(error)
    return {"type": type(error).__name__, "message": message[:ERROR_MAX_CHARS]}


async def _invoke_application(plan: BatchPlan, app: Application, inputs: dict[str, Any]) -> dict[str, Any]:
    """Outputs, trace id and latency of one invocation; 429s back off within the budget, then Deferred."""
    from lamina.services import service
    from lamina.services.schemas import InvokeData, InvokeRequest

    request = InvokeRequest(data=InvokeData(inputs=inputs, parameters=app.parameters))
    spent = 0.0
    delay = RATE_LIMIT_FIRST_DELAY_S
    while True:
        wait = take_request(app.provider)
        if wait:
            if spent + wait > plan.rate_limit_budget_s:
                raise Deferred(f"{app.provider}: the shared per-minute limit is reached")
            await asyncio.sleep(wait)
            spent += wait
            continue
        started = time.perf_counter()
        try:
            invocation = await service.invoke_measured(
                app.kind,  # type: ignore[arg-type]
                request,
                plan.principal,
                service.trace_context(None),
                local=plan.local,
            )
        except RateLimitedError as error:
            if spent + delay > plan.rate_limit_budget_s:
                raise Deferred(error.message) from error
            await asyncio.sleep(delay * (0.5 + random.random() / 2))
            spent += delay
            delay = min(RATE_LIMIT_MAX_DELAY_S, delay * 2)
            continue
        latency_ms = (time.perf_counter() - started) * 1000
        response, usage = invocation.response, invocation.usage
        outputs = response.data.outputs
        # The provider's own count; a provider that reports no usage is estimated (4 characters a token).
        tokens = usage.total_tokens
        if tokens is None:
            tokens = (len(str(inputs)) + len(str(outputs))) // 4
        record_tokens(app.provider, tokens)
        return {
            "outputs": outputs,
            "trace_id": response.trace_id,
            "latency_ms": round(latency_ms, 3),
            "usage": usage.as_dict(),
        }


def _evaluate(
    evaluator: Evaluator, inputs: dict[str, Any], outputs: Any, project_id: uuid.UUID
) -> dict[str, Any]:
    from lamina.evaluators.runtime import evaluate

    outcome = evaluate(
        evaluator.kind,
        evaluator.settings,
        inputs=inputs,
        outputs=outputs,
        testcase=inputs,
        project_id=project_id,
    )
    if outcome.error:
        raise RuntimeError(outcome.error)
    return dict(outcome.outputs or {})


async def run_scenario(plan: BatchPlan, work: ScenarioWork) -> ScenarioOutcome:
    outcome = ScenarioOutcome(work.id, RunStatus.SUCCESS)
    app = plan.applications.get(work.application_revision_id) if work.application_revision_id else None
    if app is None:
        outcome.status, outcome.error = RunStatus.FAILURE, "the scenario's application revision is gone"
        return outcome
    base = {"scenario_id": work.id, "testcase_id": work.testcase_id}
    for repeat in range(plan.repeats):
        try:
            invoked = await _invoke_application(plan, app, work.inputs)
        except Deferred as error:
            return ScenarioOutcome(work.id, RunStatus.QUEUED, error=str(error), deferred=True)
        except Exception as error:
            detail = _error(error)
            outcome.results.append(
                {
                    **base,
                    "step_key": APPLICATION_STEP,
                    "repeat_idx": repeat,
                    "status": "failure",
                    "error": detail,
                }
            )
            outcome.status = RunStatus.FAILURE
            outcome.error = outcome.error or f"application failed: {detail['message']}"
            continue
        outcome.results.append(
            {
                **base,
                "step_key": APPLICATION_STEP,
                "repeat_idx": repeat,
                "status": "success",
                "trace_id": invoked["trace_id"],
                "outputs": {
                    "outputs": invoked["outputs"],
                    "latency_ms": invoked["latency_ms"],
                    "usage": invoked["usage"],
                },
            }
        )
        for evaluator in plan.evaluators:
            cell = {
                **base,
                "step_key": evaluator.step_key,
                "repeat_idx": repeat,
                "trace_id": invoked["trace_id"],
            }
            try:
                scores = await asyncio.to_thread(
                    _evaluate, evaluator, work.inputs, invoked["outputs"], plan.principal.project_id
                )
            except Exception as error:
                detail = _error(error)
                outcome.results.append({**cell, "status": "failure", "error": detail})
                if outcome.status is RunStatus.SUCCESS:
                    outcome.status = RunStatus.ERRORS
                    outcome.error = f"evaluator {evaluator.step_key} failed: {detail['message']}"
                continue
            outcome.results.append({**cell, "status": "success", "outputs": scores})
    return outcome


async def run_batch(
    plan: BatchPlan,
    works: list[ScenarioWork],
    on_done: Callable[[ScenarioOutcome], None] | None = None,
) -> list[ScenarioOutcome]:
    """Every scenario of the batch, at most `plan.concurrency` at a time across all invocations of the run."""
    slots = RunSlots(plan.run_id, plan.concurrency)
    pending = list(works)
    running: dict[asyncio.Task[ScenarioOutcome], str] = {}
    outcomes: list[ScenarioOutcome] = []
    # Finished scenarios' slots, given back with the next acquire (one Redis round trip, off the loop).
    released: list[str] = []
    poll = SLOT_POLL_S
    while pending or running:
        wanted = min(len(pending), plan.concurrency - len(running))
        tokens = await asyncio.to_thread(slots.acquire, wanted, released) if wanted or released else []
        released = []
        for token in tokens:
            work = pending.pop(0)
            running[asyncio.create_task(run_scenario(plan, work))] = token
        if tokens:
            poll = SLOT_POLL_S
        if not running:
            # Every slot is held by other invocations of this run: wait for one to free up.
            await asyncio.sleep(poll * (0.5 + random.random()))
            poll = min(SLOT_POLL_MAX_S, poll * 2)
            continue
        timeout = None if not pending or len(running) >= plan.concurrency else poll
        done, _ = await asyncio.wait(set(running), timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            released.append(running.pop(task))
            outcome = task.result()
            outcomes.append(outcome)
            if on_done is not None:
                on_done(outcome)
    if released:
        await asyncio.to_thread(slots.acquire, 0, released)
    return outcomes
