"""Runs side by side: each test case's outputs and scores in every run, and the runs' metric deltas."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from lamina.evaluations.execution import APPLICATION_STEP
from lamina.evaluations.models import EvaluationMetrics, EvaluationResult, EvaluationScenario
from lamina.evaluations.schemas import ComparedScenario, CompareResponse
from lamina.evaluations.service import get_run

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# The statistics compared: a numeric metric's mean, a boolean one's rate.
COMPARED_STATS = ("mean", "rate")
MAX_COMPARED_SCENARIOS = 5000


def _headline(data: dict[str, Any]) -> dict[str, float]:
    flat: dict[str, float] = {}
    for step, paths in data.items():
        for path, stats in (paths or {}).items():
            for stat in COMPARED_STATS:
                if isinstance(stats, dict) and isinstance(stats.get(stat), int | float):
                    flat[f"{step}.{path}.{stat}"] = float(stats[stat])
    return flat


def compare_runs(session: Session, project_id: uuid.UUID, run_ids: list[uuid.UUID]) -> CompareResponse:
    runs = [get_run(session, project_id, run_id) for run_id in run_ids]
    ids = [run.id for run in runs]
    metrics = {
        row.run_id: row.data
        for row in session.execute(
            select(EvaluationMetrics).where(
                EvaluationMetrics.run_id.in_(ids), EvaluationMetrics.scenario_id.is_(None)
            )
        ).scalars()
    }
    headlines = {run_id: _headline(metrics.get(run_id) or {}) for run_id in ids}
    first = ids[0]
    deltas: dict[str, dict[str, Any]] = {}
    for path in sorted({path for values in headlines.values() for path in values}):
        values = {str(run_id): headlines[run_id].get(path) for run_id in ids}
        base = headlines[first].get(path)
        deltas[path] = {
            "values": values,
            "deltas": {
                str(run_id): (headlines[run_id][path] - base)
                if base is not None and path in headlines[run_id]
                else None
                for run_id in ids[1:]
            },
        }
    scenarios = list(
        session.execute(
            select(EvaluationScenario)
            .where(EvaluationScenario.run_id.in_(ids))
            .order_by(EvaluationScenario.position)
            .limit(MAX_COMPARED_SCENARIOS)
        ).scalars()
    )
    results: dict[uuid.UUID, list[EvaluationResult]] = defaultdict(list)
    for result in session.execute(
        select(EvaluationResult).where(EvaluationResult.run_id.in_(ids), EvaluationResult.repeat_idx == 0)
    ).scalars():
        results[result.scenario_id].append(result)
    rows: dict[Any, ComparedScenario] = {}
    for scenario in scenarios:
        key = scenario.testcase_id or scenario.id
        row = rows.get(key)
        if row is None:
            row = rows[key] = ComparedScenario(
                testcase_id=scenario.testcase_id, inputs=scenario.inputs, runs={}
            )
        outputs = None
        scores: dict[str, Any] = {}
        for result in results.get(scenario.id, []):
            if result.step_key == APPLICATION_STEP:
                outputs = (result.outputs or {}).get("outputs") if isinstance(result.outputs, dict) else None
            else:
                scores[result.step_key] = (
                    result.outputs if result.status == "success" else {"error": result.error}
                )
        row.runs[str(scenario.run_id)] = {
            "scenario_id": str(scenario.id),
            "status": scenario.status,
            "error": scenario.error,
            "outputs": outputs,
            "scores": scores,
        }
    return CompareResponse(
        run_ids=ids,
        metrics={str(run_id): metrics.get(run_id) or {} for run_id in ids},
        deltas=deltas,
        scenarios=list(rows.values()),
    )
