"""`/api/simple/evaluations/` (create, start, stop, close, re-run failed) and `/api/evaluations/runs|
scenarios|results|metrics` (+ `/query`), the shapes Agenta's SDK reads and writes."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from lamina.api.deps import ProjectEditor, ProjectViewer, SessionDep
from lamina.api.routing import DeferredRouter
from lamina.evaluations import schemas
from lamina.evaluations.schemas import RunStatus

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from lamina.evaluations import compare, records, service
    from lamina.evaluations.models import EvaluationRun
else:
    from lamina.lazy import lazy_module

    compare = lazy_module("lamina.evaluations.compare")
    records = lazy_module("lamina.evaluations.records")
    service = lazy_module("lamina.evaluations.service")

router = DeferredRouter(tags=["evaluations"])
simple_router = DeferredRouter(tags=["evaluations"])


def _view(session: Session, run: EvaluationRun) -> schemas.RunView:
    session.flush()
    view = schemas.RunView.model_validate(run)
    view.progress = service.progress(session, [run.id])[run.id]
    return view


def _evaluation(session: Session, run: EvaluationRun) -> schemas.SimpleEvaluationResponse:
    return schemas.SimpleEvaluationResponse(count=1, evaluation=_view(session, run))


def _run(session: Session, run: EvaluationRun) -> schemas.RunResponse:
    return schemas.RunResponse(count=1, run=_view(session, run))


# ---------------------------------------------------------------- simple evaluations


@simple_router.post("/simple/evaluations/")
def create_evaluation(
    body: schemas.SimpleEvaluationCreate, session: SessionDep, principal: ProjectEditor
) -> schemas.SimpleEvaluationResponse:
    return _evaluation(session, service.create_run(session, principal, body.spec()))


@simple_router.get("/simple/evaluations/{evaluation_id}")
def fetch_evaluation(
    evaluation_id: uuid.UUID, session: SessionDep, principal: ProjectViewer
) -> schemas.SimpleEvaluationResponse:
    return _evaluation(session, service.get_run(session, principal.project_id, evaluation_id))


@simple_router.post("/simple/evaluations/{evaluation_id}/start")
def start_evaluation(
    evaluation_id: uuid.UUID, session: SessionDep, principal: ProjectEditor
) -> schemas.SimpleEvaluationResponse:
    run = service.get_run(session, principal.project_id, evaluation_id, lock=True)
    return _evaluation(session, service.start_run(session, run))


@simple_router.post("/simple/evaluations/{evaluation_id}/stop")
def stop_evaluation(
    evaluation_id: uuid.UUID, session: SessionDep, principal: ProjectEditor
) -> schemas.SimpleEvaluationResponse:
    run = service.get_run(session, principal.project_id, evaluation_id, lock=True)
    return _evaluation(session, service.stop_run(session, run))


@simple_router.post("/simple/evaluations/{evaluation_id}/close")
def close_evaluation(
    evaluation_id: uuid.UUID, session: SessionDep, principal: ProjectEditor
) -> schemas.SimpleEvaluationResponse:
    run = service.get_run(session, principal.project_id, evaluation_id, lock=True)
    return _evaluation(session, service.close_run(session, run))


@simple_router.post("/simple/evaluations/{evaluation_id}/rerun")
def rerun_failed_scenarios(
    evaluation_id: uuid.UUID, session: SessionDep, principal: ProjectEditor
) -> schemas.SimpleEvaluationResponse:
    """Queue again only the scenarios that failed (or whose evaluators failed)."""
    run = service.get_run(session, principal.project_id, evaluation_id, lock=True)
    return _evaluation(session, service.rerun_failed(session, run))


@simple_router.post("/simple/evaluations/{evaluation_id}/scenarios/add")
def add_scenarios(
    evaluation_id: uuid.UUID, body: schemas.ScenariosAddRequest, session: SessionDep, principal: ProjectEditor
) -> schemas.ScenariosResponse:
    rows = records.add_scenarios(session, principal.project_id, evaluation_id, body.count)
    return schemas.ScenariosResponse(
        count=len(rows), scenarios=[schemas.ScenarioView.model_validate(r) for r in rows]
    )


@simple_router.post("/simple/evaluations/{evaluation_id}/populate")
def populate_results(
    evaluation_id: uuid.UUID,
    body: schemas.ResultsCreateRequest,
    session: SessionDep,
    principal: ProjectEditor,
) -> schemas.ResultsResponse:
    service.get_run(session, principal.project_id, evaluation_id)
    cells = [cell.model_copy(update={"run_id": evaluation_id}) for cell in body.results]
    rows = records.set_results(session, principal.project_id, cells)
    return schemas.ResultsResponse(
        count=len(rows), results=[schemas.ResultView.model_validate(r) for r in rows]
    )


# ---------------------------------------------------------------- runs


@router.post("/evaluations/runs/query")
def query_runs(
    body: schemas.RunQueryRequest, session: SessionDep, principal: ProjectViewer
) -> schemas.RunsResponse:
    rows = records.query_runs(session, principal.project_id, body.run, body.windowing)
    counts = service.progress(session, [row.id for row in rows])
    views = [
        schemas.RunView.model_validate(row).model_copy(update={"progress": counts[row.id]}) for row in rows
    ]
    return schemas.RunsResponse(count=len(views), runs=views)


@router.post("/evaluations/runs/compare")
def compare_runs(
    body: schemas.CompareRequest, session: SessionDep, principal: ProjectViewer
) -> schemas.CompareResponse:
    """Runs side by side: per test case outputs and scores, and metric deltas against the first run."""
    return compare.compare_runs(session, principal.project_id, body.run_ids)


@router.get("/evaluations/runs/{run_id}")
def fetch_run(run_id: uuid.UUID, session: SessionDep, principal: ProjectViewer) -> schemas.RunResponse:
    return _run(session, service.get_run(session, principal.project_id, run_id))


@router.post("/evaluations/runs/{run_id}/close")
def close_run(
    run_id: uuid.UUID, session: SessionDep, principal: ProjectEditor, status: RunStatus | None = None
) -> schemas.RunResponse:
    run = service.get_run(session, principal.project_id, run_id, lock=True)
    return _run(session, service.close_run(session, run, status))


# ---------------------------------------------------------------- scenarios


@router.post("/evaluations/scenarios/")
def create_scenarios(
    body: schemas.ScenariosCreateRequest, session: SessionDep, principal: ProjectEditor
) -> schemas.ScenariosResponse:
    rows = records.create_scenarios(session, principal.project_id, body.scenarios)
    return schemas.ScenariosResponse(
        count=len(rows), scenarios=[schemas.ScenarioView.model_validate(r) for r in rows]
    )


@router.post("/evaluations/scenarios/query")
def query_scenarios(
    body: schemas.ScenarioQueryRequest, session: SessionDep, principal: ProjectViewer
) -> schemas.ScenariosResponse:
    rows = records.query_scenarios(session, principal.project_id, body.scenario, body.windowing)
    return schemas.ScenariosResponse(
        count=len(rows), scenarios=[schemas.ScenarioView.model_validate(r) for r in rows]
    )


@router.get("/evaluations/scenarios/{scenario_id}")
def fetch_scenario(
    scenario_id: uuid.UUID, session: SessionDep, principal: ProjectViewer
) -> schemas.ScenarioResponse:
    scenario = records.get_scenario(session, principal.project_id, scenario_id)
    return schemas.ScenarioResponse(count=1, scenario=schemas.ScenarioView.model_validate(scenario))


@router.patch("/evaluations/scenarios/{scenario_id}")
def edit_scenario(
    scenario_id: uuid.UUID, body: schemas.ScenarioEditRequest, session: SessionDep, principal: ProjectEditor
) -> schemas.ScenarioResponse:
    scenario = records.edit_scenario(session, principal.project_id, scenario_id, body.scenario)
    return schemas.ScenarioResponse(count=1, scenario=schemas.ScenarioView.model_validate(scenario))


@router.post("/evaluations/scenarios/{scenario_id}/annotate")
def annotate_scenario(
    scenario_id: uuid.UUID, body: schemas.AnnotationRequest, session: SessionDep, principal: ProjectEditor
) -> schemas.ResultsResponse:
    """A person scores a scenario: a result on a `human.*` step, counted in the run's metrics."""
    result = records.annotate(session, principal.project_id, scenario_id, body.annotation)
    return schemas.ResultsResponse(count=1, results=[schemas.ResultView.model_validate(result)])


# ---------------------------------------------------------------- results and metrics


@router.post("/evaluations/results/")
def set_results(
    body: schemas.ResultsCreateRequest, session: SessionDep, principal: ProjectEditor
) -> schemas.ResultsResponse:
    rows = records.set_results(session, principal.project_id, body.results)
    return schemas.ResultsResponse(
        count=len(rows), results=[schemas.ResultView.model_validate(r) for r in rows]
    )


@router.post("/evaluations/results/query")
def query_results(
    body: schemas.ResultQueryRequest, session: SessionDep, principal: ProjectViewer
) -> schemas.ResultsResponse:
    rows = records.query_results(session, principal.project_id, body.result, body.windowing)
    return schemas.ResultsResponse(
        count=len(rows), results=[schemas.ResultView.model_validate(r) for r in rows]
    )


@router.post("/evaluations/metrics/query")
def query_metrics(
    body: schemas.MetricsQueryRequest, session: SessionDep, principal: ProjectViewer
) -> schemas.MetricsResponse:
    rows = records.query_metrics(session, principal.project_id, body.metrics, body.windowing)
    return schemas.MetricsResponse(
        count=len(rows), metrics=[schemas.MetricsView.model_validate(r) for r in rows]
    )


@router.post("/evaluations/metrics/refresh")
def refresh_metrics(
    body: schemas.MetricsRefreshRequest, session: SessionDep, principal: ProjectEditor
) -> schemas.MetricsResponse:
    from lamina.evaluations.metrics import refresh_metrics as refresh

    run = service.get_run(session, principal.project_id, body.metrics.run_id)
    rows = refresh(session, run, body.metrics.scenario_id)
    return schemas.MetricsResponse(
        count=len(rows), metrics=[schemas.MetricsView.model_validate(r) for r in rows]
    )
