"""Metrics: each step's outputs aggregated over a scenario's repeats and over the run.

Numbers get count, mean, min, max, sum and percentiles; booleans a rate. The application step also gets its
latency, and the tokens and cost of its invocations as their traces recorded them.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
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


def _observations(
    results: Iterable[EvaluationResult], usage: dict[str, dict[str, float]]
) -> dict[str, dict[str, list[Any]]]:
    """step key -> metric path -> the values the results carry."""
    observed: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for result in results:
        step = observed[result.step_key]
        if result.step_key == APPLICATION_STEP:
            step["success"].append(result.status == "success")
            if result.status != "success":
                continue
            outputs = result.outputs or {}
            if isinstance(outputs, dict) and "latency_ms" in outputs:
                step["latency_ms"].append(outputs["latency_ms"])
            for name, value in usage.get(result.trace_id or "", {}).items():
                step[name].append(value)
            continue
        # An evaluator's own outputs often hold a `success`: its failing to run is counted apart.
        step["error"].append(result.status != "success")
        if result.status == "success":
            for path, value in _leaves(result.outputs):
                step[path].append(value)
    return observed


def aggregate(results: list[EvaluationResult], usage: dict[str, dict[str, float]]) -> dict[str, Any]:
    return {
        step: {path: summarize(values) for path, values in paths.items()}
        for step, paths in sorted(_observations(results, usage).items())
    }


def _usage_by_trace(
    session: Session, project_id: uuid.UUID, trace_ids: set[str]
) -> dict[str, dict[str, float]]:
    """Tokens and cost per trace, from the spans the tracing worker stored (none yet: not counted yet)."""
    if not trace_ids:
        return {}
    from sqlalchemy import func

    from lamina.tracing.models import Span

    rows = session.execute(
        select(
            Span.trace_id,
            func.sum(Span.prompt_tokens),
            func.sum(Span.completion_tokens),
            func.sum(Span.total_tokens),
            func.sum(Span.cost),
        )
        .where(Span.project_id == project_id, Span.trace_id.in_(sorted(trace_ids)))
        .group_by(Span.trace_id)
    ).all()
    usage: dict[str, dict[str, float]] = {}
    for trace_id, prompt, completion, total, cost in rows:
        entry = {
            name: float(value)
            for name, value in (
                ("tokens.prompt", prompt),
                ("tokens.completion", completion),
                ("tokens.total", total),
                ("cost", cost),
            )
            if value is not None
        }
        usage[trace_id] = entry
    return usage


def refresh_metrics(
    session: Session, run: EvaluationRun, scenario_id: uuid.UUID | None = None
) -> list[EvaluationMetrics]:
    """Recompute the run's metric rows (its own and one per scenario), or one scenario's; returns them."""
    query = select(EvaluationResult).where(EvaluationResult.run_id == run.id)
    if scenario_id is not None:
        query = query.where(EvaluationResult.scenario_id == scenario_id)
    results = list(session.execute(query).scalars())
    usage = _usage_by_trace(session, run.project_id, {r.trace_id for r in results if r.trace_id})
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
            data=aggregate(scenario_results, usage),
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
                data=aggregate(results, usage),
            ),
        )
    session.add_all(rows)
    session.flush()
    return rows
