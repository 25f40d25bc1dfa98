"""Metrics: each step's outputs aggregated over a scenario's repeats and over the run.

Numbers get count, mean, min, max, sum and percentiles; booleans a rate. The application step also gets its
latency, and the tokens and cost of its invocations: as the worker metered them from the provider's answer,
else (a cell Agenta's SDK wrote) as their traces recorded them.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from lamina.evaluations.execution import APPLICATION_STEP
from lamina.evaluations.models import EvaluationMetrics, EvaluationResult, EvaluationRun

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

PERCENTILES = (50, 90, 95, 99)
MAX_DEPTH = 4


def _leaves(value: Any, path: str = "", depth: int = 0) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict) and depth < MAX_DEPTH:
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(value, bool | int | float) and path:
        yield path, value


def percentile(sorted_values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if len(sorted_values) == 1:
        return sorted_values[0]
    rank = (len(sorted_values) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def summarize(values: list[Any]) -> dict[str, Any]:
    booleans = [value for value in values if isinstance(value, bool)]
    if booleans and len(booleans) == len(values):
        true = sum(1 for value in booleans if value)
        return {"type": "binary", "count": len(booleans), "true": true, "rate": true / len(booleans)}
    numbers = sorted(float(value) for value in values if not isinstance(value, bool))
    if not numbers:
        return {"type": "none", "count": 0}
    stats: dict[str, Any] = {
        "type": "numeric",
        "count": len(numbers),
        "sum": sum(numbers),
        "mean": sum(numbers) / len(numbers),
        "min": numbers[0],
        "max": numbers[-1],
    }
    for p in PERCENTILES:
        stats[f"p{p}"] = percentile(numbers, p)
    return stats


# A result's `usage` (what the services layer metered) under the metric names a trace's usage gets too.
USAGE_METRICS = {
    "prompt_tokens": "tokens.prompt",
    "completion_tokens": "tokens.completion",
    "total_tokens": "tokens.total",
    "cost": "cost",
}


@dataclass(frozen=True)
class TraceFacts:
    """What a result's trace adds when the result does not carry it (cells Agenta's SDK wrote hold a trace
    id, no outputs): the root span's outputs and duration, and the tokens and cost of all its spans."""

    outputs: Any = None
    duration_ms: float | None = None
    usage: dict[str, float] = field(default_factory=dict)


def is_application_step(step_key: str) -> bool:
    """The worker's `application` step, or an application step Agenta's SDK named (`application-<slug>`)."""
    return step_key == APPLICATION_STEP or step_key.startswith("application-")


def _observations(
    results: Iterable[EvaluationResult], traces: dict[str, TraceFacts]
) -> dict[str, dict[str, list[Any]]]:
    """step key -> metric path -> the values the results carry."""
    observed: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for result in results:
        step = observed[result.step_key]
        trace = traces.get(result.trace_id or "") or TraceFacts()
        if is_application_step(result.step_key):
            step["success"].append(result.status == "success")
            if result.status != "success":
                continue
            outputs = result.outputs if isinstance(result.outputs, dict) else {}
            latency = outputs.get("latency_ms", trace.duration_ms)
            if latency is not None:
                step["latency_ms"].append(latency)
            metered = outputs.get("usage")
            if isinstance(metered, dict):
                usage = {USAGE_METRICS[k]: v for k, v in metered.items() if k in USAGE_METRICS}
            else:
                usage = trace.usage
            for name, value in usage.items():
                step[name].append(value)
            continue
        # An evaluator's own outputs often hold a `success`: its failing to run is counted apart.
        step["error"].append(result.status != "success")
        if result.status == "success":
            scores = result.outputs if result.outputs is not None else trace.outputs
            for path, value in _leaves(scores):
                step[path].append(value)
    return observed


def aggregate(results: list[EvaluationResult], traces: dict[str, TraceFacts]) -> dict[str, Any]:
    return {
        step: {path: summarize(values) for path, values in paths.items()}
        for step, paths in sorted(_observations(results, traces).items())
    }


def _trace_facts(session: Session, project_id: uuid.UUID, trace_ids: set[str]) -> dict[str, TraceFacts]:
    """Per trace, from the spans the tracing worker stored (a trace not stored yet adds nothing)."""
    if not trace_ids:
        return {}
    from lamina.tracing.models import Span
    from lamina.tracing.query import trace_totals

    roots = {
        trace_id: (outputs, duration_ms)
        for trace_id, outputs, duration_ms in session.execute(
            select(Span.trace_id, Span.outputs, Span.duration_ms).where(
                Span.project_id == project_id, Span.trace_id.in_(sorted(trace_ids)), Span.parent_id.is_(None)
            )
        ).all()
    }
    facts: dict[str, TraceFacts] = {}
    for trace_id, totals in trace_totals(session, project_id, trace_ids).items():
        # The run's metrics name the summed cost `cost`, as a cell's own usage does.
        usage = {("cost" if name == "costs.total" else name): value for name, value in totals.items()}
        outputs, duration_ms = roots.get(trace_id, (None, None))
        facts[trace_id] = TraceFacts(outputs=outputs, duration_ms=duration_ms, usage=usage)
    return facts


def refresh_metrics(
    session: Session, run: EvaluationRun, scenario_id: uuid.UUID | None = None
) -> list[EvaluationMetrics]:
    """Recompute the run's metric rows (its own and one per scenario), or one scenario's; returns them."""
    query = select(EvaluationResult).where(EvaluationResult.run_id == run.id)
    if scenario_id is not None:
        query = query.where(EvaluationResult.scenario_id == scenario_id)
    results = list(session.execute(query).scalars())
    traces = _trace_facts(session, run.project_id, {r.trace_id for r in results if r.trace_id})
    by_scenario: dict[uuid.UUID, list[EvaluationResult]] = defaultdict(list)
    for result in results:
        by_scenario[result.scenario_id].append(result)
    stale = delete(EvaluationMetrics).where(EvaluationMetrics.run_id == run.id)
    if scenario_id is not None:
        stale = stale.where(EvaluationMetrics.scenario_id == scenario_id)
    session.execute(stale)
    rows = [
        EvaluationMetrics(
            project_id=run.project_id,
            run_id=run.id,
            scenario_id=scenario,
            status="success",
            data=aggregate(scenario_results, traces),
        )
        for scenario, scenario_results in by_scenario.items()
    ]
    if scenario_id is None:
        rows.insert(
            0,
            EvaluationMetrics(
                project_id=run.project_id,
                run_id=run.id,
                scenario_id=None,
                status="success",
                data=aggregate(results, traces),
            ),
        )
    session.add_all(rows)
    session.flush()
    return rows
