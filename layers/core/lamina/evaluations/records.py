"""Scenarios, results and metrics as the API reads and writes them: queries with cursor windowing, the
SDK's own writes (scenarios it mints, result cells it computed), and a person's annotation of a scenario."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from lamina.api.schemas import Windowing
from lamina.db.base import utcnow
from lamina.errors import ConflictError, NotFoundError
from lamina.evaluations import schemas
from lamina.evaluations.models import EvaluationMetrics, EvaluationResult, EvaluationRun, EvaluationScenario
from lamina.evaluations.schemas import RunStatus
from lamina.evaluations.service import get_run
from lamina.ids import uuid7

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

HUMAN_STEP_PREFIX = "human"


def _window(query: Any, column: Any, windowing: Windowing | None, *, ascending: bool) -> Any:
    windowing = windowing or Windowing(order="ascending" if ascending else "descending")
    if windowing.order == "ascending":
        if windowing.next is not None:
            query = query.where(column > windowing.next)
        return query.order_by(column.asc()).limit(windowing.limit)
    if windowing.next is not None:
        query = query.where(column < windowing.next)
    return query.order_by(column.desc()).limit(windowing.limit)


def _statuses(filters: Any) -> list[str]:
    return [str(s) for s in ([filters.status] if filters.status else []) + list(filters.statuses or [])]


def query_runs(
    session: Session, project_id: uuid.UUID, filters: schemas.RunQuery | None, windowing: Windowing | None
) -> list[EvaluationRun]:
    query = select(EvaluationRun).where(EvaluationRun.project_id == project_id)
    if filters is not None:
        if filters.ids:
            query = query.where(EvaluationRun.id.in_(filters.ids))
        if statuses := _statuses(filters):
            query = query.where(EvaluationRun.status.in_(statuses))
        if filters.name:
            query = query.where(EvaluationRun.name == filters.name)
        if filters.flags:
            query = query.where(EvaluationRun.flags.contains(filters.flags))
        if filters.tags:
            query = query.where(EvaluationRun.tags.contains(filters.tags))
    return list(session.execute(_window(query, EvaluationRun.id, windowing, ascending=False)).scalars())


def query_scenarios(
    session: Session,
    project_id: uuid.UUID,
    filters: schemas.ScenarioQuery | None,
    windowing: Windowing | None,
) -> list[EvaluationScenario]:
    query = select(EvaluationScenario).where(EvaluationScenario.project_id == project_id)
    if filters is not None:
        run_ids = ([filters.run_id] if filters.run_id else []) + list(filters.run_ids or [])
        if run_ids:
            query = query.where(EvaluationScenario.run_id.in_(run_ids))
        if filters.ids:
            query = query.where(EvaluationScenario.id.in_(filters.ids))
        if statuses := _statuses(filters):
            query = query.where(EvaluationScenario.status.in_(statuses))
    return list(session.execute(_window(query, EvaluationScenario.id, windowing, ascending=True)).scalars())


def query_results(
    session: Session, project_id: uuid.UUID, filters: schemas.ResultQuery | None, windowing: Windowing | None
) -> list[EvaluationResult]:
    query = select(EvaluationResult).where(EvaluationResult.project_id == project_id)
    if filters is not None:
        run_ids = ([filters.run_id] if filters.run_id else []) + list(filters.run_ids or [])
        if run_ids:
            query = query.where(EvaluationResult.run_id.in_(run_ids))
        scenario_ids = ([filters.scenario_id] if filters.scenario_id else []) + list(
            filters.scenario_ids or []
        )
        if scenario_ids:
            query = query.where(EvaluationResult.scenario_id.in_(scenario_ids))
        step_keys = ([filters.step_key] if filters.step_key else []) + list(filters.step_keys or [])
        if step_keys:
            query = query.where(EvaluationResult.step_key.in_(step_keys))
        if filters.repeat_idx is not None:
            query = query.where(EvaluationResult.repeat_idx == filters.repeat_idx)
        if filters.ids:
            query = query.where(EvaluationResult.id.in_(filters.ids))
        if statuses := _statuses(filters):
            query = query.where(EvaluationResult.status.in_(statuses))
    return list(session.execute(_window(query, EvaluationResult.id, windowing, ascending=True)).scalars())


def query_metrics(
    session: Session, project_id: uuid.UUID, filters: schemas.MetricsQuery | None, windowing: Windowing | None
) -> list[EvaluationMetrics]:
    query = select(EvaluationMetrics).where(EvaluationMetrics.project_id == project_id)
    if filters is not None:
        run_ids = ([filters.run_id] if filters.run_id else []) + list(filters.run_ids or [])
        if run_ids:
            query = query.where(EvaluationMetrics.run_id.in_(run_ids))
        if filters.scenario_id is not None:
            query = query.where(EvaluationMetrics.scenario_id == filters.scenario_id)
        if filters.scenario_ids is False:
            query = query.where(EvaluationMetrics.scenario_id.is_(None))
        elif filters.scenario_ids is True:
            query = query.where(EvaluationMetrics.scenario_id.is_not(None))
        elif filters.scenario_ids:
            query = query.where(EvaluationMetrics.scenario_id.in_(filters.scenario_ids))
        if filters.ids:
            query = query.where(EvaluationMetrics.id.in_(filters.ids))
    return list(session.execute(_window(query, EvaluationMetrics.id, windowing, ascending=True)).scalars())


def _open_run(session: Session, project_id: uuid.UUID, run_id: uuid.UUID) -> EvaluationRun:
    run = get_run(session, project_id, run_id)
    if (run.flags or {}).get("is_closed"):
        raise ConflictError(f"evaluation run {run_id} is closed")
    return run


def create_scenarios(
    session: Session, project_id: uuid.UUID, specs: Sequence[schemas.ScenarioCreate]
) -> list[EvaluationScenario]:
    runs = {spec.run_id: _open_run(session, project_id, spec.run_id) for spec in specs}
    rows = [
        EvaluationScenario(
            id=uuid7(),
            project_id=project_id,
            run_id=runs[spec.run_id].id,
            position=index,
            status=spec.status or RunStatus.PENDING,
            attempts=0,
            flags=spec.flags,
            tags=spec.tags,
            meta=spec.meta,
        )
        for index, spec in enumerate(specs)
    ]
    session.add_all(rows)
    session.flush()
    return rows


def add_scenarios(
    session: Session, project_id: uuid.UUID, run_id: uuid.UUID, count: int
) -> list[EvaluationScenario]:
    """The SDK's `add_scenarios`: `count` skeleton scenarios, in order."""
    return create_scenarios(
        session, project_id, [schemas.ScenarioCreate(run_id=run_id) for _ in range(count)]
    )


def edit_scenario(
    session: Session, project_id: uuid.UUID, scenario_id: uuid.UUID, edit: schemas.ScenarioEdit
) -> EvaluationScenario:
    scenario = get_scenario(session, project_id, scenario_id)
    _open_run(session, project_id, scenario.run_id)
    if edit.status is not None:
        scenario.status = edit.status
    for name in ("flags", "tags", "meta"):
        if name in edit.model_fields_set:
            setattr(scenario, name, getattr(edit, name))
    scenario.updated_at = utcnow()
    session.flush()
    return scenario


def get_scenario(session: Session, project_id: uuid.UUID, scenario_id: uuid.UUID) -> EvaluationScenario:
    scenario = session.execute(
        select(EvaluationScenario).where(
            EvaluationScenario.id == scenario_id, EvaluationScenario.project_id == project_id
        )
    ).scalar_one_or_none()
    if scenario is None:
        raise NotFoundError(f"evaluation scenario {scenario_id} not found")
    return scenario


def set_results(
    session: Session, project_id: uuid.UUID, cells: Sequence[schemas.ResultCreate]
) -> list[EvaluationResult]:
    """Upsert result cells on (scenario, step, repeat): writing the same cell twice leaves one."""
    # One statement may not upsert a row twice: of cells naming the same (scenario, step, repeat), the last wins.
    cells = list({(c.scenario_id, c.step_key, c.repeat_idx or 0): c for c in cells}.values())
    if not cells:
        return []
    runs = {cell.run_id: _open_run(session, project_id, cell.run_id) for cell in cells}
    scenario_ids = {cell.scenario_id for cell in cells}
    known = set(
        session.execute(
            select(EvaluationScenario.id).where(
                EvaluationScenario.id.in_(scenario_ids),
                EvaluationScenario.run_id.in_(list(runs)),
            )
        ).scalars()
    )
    missing = scenario_ids - known
    if missing:
        raise NotFoundError(f"evaluation scenario {sorted(missing)[0]} not found in the run")
    rows = [
        {
            "id": uuid7(),
            "project_id": project_id,
            "run_id": cell.run_id,
            "scenario_id": cell.scenario_id,
            "step_key": cell.step_key,
            "repeat_idx": cell.repeat_idx or 0,
            "status": str(cell.status or RunStatus.SUCCESS),
            "testcase_id": cell.testcase_id,
            "trace_id": cell.trace_id,
            "outputs": cell.outputs,
            "error": cell.error,
            "flags": cell.flags,
            "tags": cell.tags,
            "meta": cell.meta,
        }
        for cell in cells
    ]
    statement = insert(EvaluationResult)
    ids = session.execute(
        statement.on_conflict_do_update(
            index_elements=["scenario_id", "step_key", "repeat_idx"],
            set_={
                name: statement.excluded[name]
                for name in ("status", "testcase_id", "trace_id", "outputs", "error", "flags", "tags", "meta")
            }
            | {"updated_at": utcnow()},
        ).returning(EvaluationResult.id),
        rows,
    ).scalars()
    wanted = list(ids)
    found = {
        row.id: row
        for row in session.execute(select(EvaluationResult).where(EvaluationResult.id.in_(wanted))).scalars()
    }
    return [found[i] for i in wanted if i in found]


def annotate(
    session: Session, project_id: uuid.UUID, scenario_id: uuid.UUID, annotation: schemas.Annotation
) -> EvaluationResult:
    """A person's scores for a scenario, as a result on a `human...` step; the run's metrics follow."""
    from lamina.evaluations.metrics import refresh_metrics

    scenario = get_scenario(session, project_id, scenario_id)
    step_key = annotation.step_key
    if not step_key.startswith(HUMAN_STEP_PREFIX):
        step_key = f"{HUMAN_STEP_PREFIX}.{step_key}"
    outputs = dict(annotation.outputs)
    meta = {"note": annotation.note} if annotation.note else None
    cell = schemas.ResultCreate(
        run_id=scenario.run_id,
        scenario_id=scenario.id,
        step_key=step_key,
        repeat_idx=annotation.repeat_idx,
        testcase_id=scenario.testcase_id,
        outputs=outputs,
        meta=meta,
    )
    (result,) = set_results(session, project_id, [cell])
    run = get_run(session, project_id, scenario.run_id)
    if run.status in schemas.TERMINAL:
        refresh_metrics(session, run)
    return result
