"""Evaluation runs: create (resolving every step to a revision), start, stop, close, re-run the failed
scenarios, and finish once every scenario is terminal. Events and worker messages are staged in the same
transaction as the change they come from."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, update

from lamina.db.base import utcnow
from lamina.errors import ConflictError, NotFoundError, ValidationFailedError
from lamina.evaluations.models import EvaluationResult, EvaluationRun, EvaluationScenario
from lamina.evaluations.schemas import TERMINAL, Progress, RunData, RunStatus, SimpleEvaluationSpec
from lamina.events.catalog import EvaluationFinished, EvaluationStarted, EventType
from lamina.events.outbox import stage_event, stage_message
from lamina.ids import uuid7
from lamina.queues.names import Queue

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from lamina.tenancy.principal import Principal

PROCESS_SCENARIOS = "evaluations.scenarios.process"
RUN_REQUESTED = "evaluations.runs.requested"
DEFAULT_CONCURRENCY = 10
# Scenarios per queue message: several waves of the run's concurrency, so one invocation keeps its slots
# busy (only a message's tail leaves slots to other invocations), few enough to finish well within the
# function's timeout.
MIN_BATCH = 10
MAX_BATCH = 100
WAVES_PER_MESSAGE = 5
ACTIVE = (RunStatus.PENDING, RunStatus.QUEUED, RunStatus.RUNNING)


def _steps(steps: Mapping[uuid.UUID, str] | list[uuid.UUID] | None) -> dict[str, str]:
    if steps is None:
        return {}
    if isinstance(steps, list):
        return {str(step): "auto" for step in steps}
    return {str(step): origin for step, origin in steps.items()}


def get_run(
    session: Session, project_id: uuid.UUID, run_id: uuid.UUID, *, lock: bool = False
) -> EvaluationRun:
    query = select(EvaluationRun).where(EvaluationRun.id == run_id, EvaluationRun.project_id == project_id)
    if lock:
        query = query.with_for_update()
    run = session.execute(query).scalar_one_or_none()
    if run is None:
        raise NotFoundError(f"evaluation run {run_id} not found")
    return run


def progress(session: Session, run_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Progress]:
    ids = list(run_ids)
    counts: dict[uuid.UUID, dict[str, int]] = {run_id: {} for run_id in ids}
    if ids:
        rows = session.execute(
            select(EvaluationScenario.run_id, EvaluationScenario.status, func.count())
            .where(EvaluationScenario.run_id.in_(ids))
            .group_by(EvaluationScenario.run_id, EvaluationScenario.status)
        ).all()
        for run_id, status, count in rows:
            counts[run_id][status] = count
    return {
        run_id: Progress(
            total=sum(by_status.values()),
            **{k: v for k, v in by_status.items() if k in Progress.model_fields},
        )
        for run_id, by_status in counts.items()
    }


def _testcases(session: Session, project_id: uuid.UUID, step: str) -> tuple[uuid.UUID, list[Any]]:
    from lamina.api.schemas import Reference
    from lamina.testsets.service import testcases_of

    found: tuple[uuid.UUID, list[Any]] = testcases_of(session, project_id, Reference(id=uuid.UUID(step)))
    return found


def application_revision(session: Session, principal: Principal, step: str) -> dict[str, Any]:
    """The application revision a step names (a revision id, else an application's latest)."""
    from lamina.api.schemas import Reference
    from lamina.applications import service as registry
    from lamina.applications.schemas import RevisionRetrieve

    reference = Reference(id=uuid.UUID(step))
    for body in (
        RevisionRetrieve(application_revision_ref=reference),
        RevisionRetrieve(application_ref=reference),
        RevisionRetrieve(application_variant_ref=reference),
    ):
        try:
            answer = registry.retrieve(session, principal, body)
        except NotFoundError:
            continue
        revision = answer.get("application_revision") if answer.get("count") else None
        if revision:
            return dict(revision)
    raise NotFoundError(f"application_steps: {step} names no application revision")


def create_run(
    session: Session,
    principal: Principal,
    spec: SimpleEvaluationSpec,
    *,
    delivery_id: uuid.UUID | None = None,
    trigger_id: uuid.UUID | None = None,
) -> EvaluationRun:
    """A run and its scenarios; started at once unless the SDK runs it itself (`data.status: running`)."""
    data = spec.data or RunData()
    sdk_driven = data.status == RunStatus.RUNNING
    testset_steps = _steps(data.testset_steps)
    application_steps = _steps(data.application_steps)
    evaluator_steps = _steps(data.evaluator_steps)
    repeats = data.repeats or 1
    concurrency = data.concurrency or DEFAULT_CONCURRENCY
    run = EvaluationRun(
        id=uuid7(),
        project_id=principal.project_id,
        name=spec.name,
        description=spec.description,
        status=RunStatus.RUNNING if sdk_driven else RunStatus.PENDING,
        flags={
            **(spec.flags or {}),
            "is_closed": False,
            "is_active": sdk_driven,
            "has_testsets": bool(testset_steps),
            "has_evaluators": bool(evaluator_steps),
        },
        tags=spec.tags,
        meta=spec.meta,
        repeats=repeats,
        concurrency=concurrency,
        delivery_id=delivery_id,
        created_by_id=principal.user_id,
        started_at=utcnow() if sdk_driven else None,
    )
    if sdk_driven:
        run.data = {
            "testset_steps": testset_steps,
            "application_steps": application_steps,
            "evaluator_steps": evaluator_steps,
            "repeats": repeats,
            "concurrency": concurrency,
        }
        session.add(run)
        session.flush()
        stage_event(
            session,
            EventType.EVALUATION_STARTED,
            EvaluationStarted(run_id=run.id, name=run.name, scenarios=0, trigger_id=trigger_id),
            project_id=run.project_id,
        )
        return run
    if not testset_steps or not application_steps:
        raise ValidationFailedError("data.testset_steps and data.application_steps are required")
    testsets = {step: _testcases(session, principal.project_id, step) for step in testset_steps}
    applications = [application_revision(session, principal, step) for step in application_steps]
    evaluators = _evaluator_steps(session, principal.project_id, evaluator_steps)
    run.data = {
        "testset_steps": {
            str(revision_id): testset_steps[step] for step, (revision_id, _) in testsets.items()
        },
        "application_steps": {
            str(app["id"]): application_steps[step]
            for step, app in zip(application_steps, applications, strict=True)
        },
        "evaluator_steps": {str(revision.id): evaluator_steps[step] for step, revision in evaluators.items()},
        "repeats": repeats,
        "concurrency": concurrency,
        "steps": [
            *(
                {
                    "key": f"testset.{revision_id}",
                    "type": "input",
                    "references": {"testset_revision": {"id": str(revision_id)}},
                }
                for revision_id, _ in testsets.values()
            ),
            *(
                {
                    "key": "application",
                    "type": "invocation",
                    "references": {"application_revision": {"id": str(app["id"])}},
                }
                for app in applications
            ),
            *(
                {
                    "key": evaluator_step_key(revision.id),
                    "type": "annotation",
                    "origin": evaluator_steps[step],
                    "references": {"evaluator_revision": {"id": str(revision.id)}},
                }
                for step, revision in evaluators.items()
            ),
        ],
    }
    if trigger_id is not None:
        run.meta = {**(run.meta or {}), "trigger_id": str(trigger_id)}
    session.add(run)
    session.flush()
    position = 0
    scenarios = []
    for _, testcases in testsets.values():
        for testcase in testcases:
            for app in applications:
                scenarios.append(
                    EvaluationScenario(
                        id=uuid7(),
                        project_id=run.project_id,
                        run_id=run.id,
                        position=position,
                        status=RunStatus.PENDING,
                        testcase_id=testcase.id,
                        application_revision_id=uuid.UUID(str(app["id"])),
                        inputs=dict(testcase.data),
                        attempts=0,
                    )
                )
                position += 1
    session.add_all(scenarios)
    session.flush()
    start_run(session, run, trigger_id=trigger_id)
    return run


def evaluator_step_key(revision_id: uuid.UUID) -> str:
    return f"evaluator.{revision_id}"


def _evaluator_steps(session: Session, project_id: uuid.UUID, steps: dict[str, str]) -> dict[str, Any]:
    if not steps:
        return {}
    from lamina.api.schemas import Reference
    from lamina.evaluators.service import evaluator_of

    return {step: evaluator_of(session, project_id, Reference(id=uuid.UUID(step))) for step in steps}


def batch_size(concurrency: int) -> int:
    return max(MIN_BATCH, min(MAX_BATCH, concurrency * WAVES_PER_MESSAGE))


def _enqueue(session: Session, run: EvaluationRun, scenario_ids: list[uuid.UUID]) -> None:
    size = batch_size(run.concurrency)
    for start in range(0, len(scenario_ids), size):
        stage_message(
            session,
            Queue.EVALUATIONS,
            PROCESS_SCENARIOS,
            {"run_id": str(run.id), "scenario_ids": [str(i) for i in scenario_ids[start : start + size]]},
            project_id=run.project_id,
        )


def start_run(session: Session, run: EvaluationRun, *, trigger_id: uuid.UUID | None = None) -> EvaluationRun:
    """Queue the run's pending scenarios in batches; a running or finished run is left as it is."""
    if (run.flags or {}).get("is_closed"):
        raise ConflictError(f"evaluation run {run.id} is closed")
    if run.status != RunStatus.PENDING:
        return run
    pending = list(
        session.execute(
            select(EvaluationScenario.id)
            .where(EvaluationScenario.run_id == run.id, EvaluationScenario.status == RunStatus.PENDING)
            .order_by(EvaluationScenario.position)
        ).scalars()
    )
    session.execute(
        update(EvaluationScenario)
        .where(EvaluationScenario.id.in_(pending))
        .values(status=RunStatus.QUEUED, updated_at=utcnow())
    )
    run.status = RunStatus.RUNNING
    run.flags = {**(run.flags or {}), "is_active": True}
    run.started_at = utcnow()
    run.finished_at = None
    _enqueue(session, run, pending)
    stage_event(
        session,
        EventType.EVALUATION_STARTED,
        EvaluationStarted(run_id=run.id, name=run.name, scenarios=len(pending), trigger_id=trigger_id),
        project_id=run.project_id,
    )
    if not pending:
        finish_if_done(session, run)
    return run


def stop_run(session: Session, run: EvaluationRun) -> EvaluationRun:
    """Cancel every scenario not yet terminal; the run finishes as cancelled."""
    if run.status in TERMINAL:
        return run
    session.execute(
        update(EvaluationScenario)
        .where(EvaluationScenario.run_id == run.id, EvaluationScenario.status.in_(ACTIVE))
        .values(status=RunStatus.CANCELLED, error="the run was stopped", updated_at=utcnow())
    )
    _finish(session, run, RunStatus.CANCELLED)
    return run


def close_run(session: Session, run: EvaluationRun, status: RunStatus | None = None) -> EvaluationRun:
    """Lock the run against edits. The SDK closes the runs it drove with their final status."""
    if run.status not in TERMINAL:
        if status is not None and status in TERMINAL:
            _finish(session, run, status)
        else:
            stop_run(session, run)
    run.flags = {**(run.flags or {}), "is_closed": True, "is_active": False}
    return run


def rerun_failed(session: Session, run: EvaluationRun) -> EvaluationRun:
    """Queue again only the scenarios that failed (or had an evaluator fail); the others keep their results."""
    if (run.flags or {}).get("is_closed"):
        raise ConflictError(f"evaluation run {run.id} is closed")
    if run.status not in TERMINAL:
        raise ConflictError(f"evaluation run {run.id} is still {run.status}")
    failed = list(
        session.execute(
            select(EvaluationScenario.id)
            .where(
                EvaluationScenario.run_id == run.id,
                EvaluationScenario.status.in_((RunStatus.FAILURE, RunStatus.ERRORS)),
            )
            .order_by(EvaluationScenario.position)
        ).scalars()
    )
    if not failed:
        return run
    session.execute(delete(EvaluationResult).where(EvaluationResult.scenario_id.in_(failed)))
    session.execute(
        update(EvaluationScenario)
        .where(EvaluationScenario.id.in_(failed))
        .values(status=RunStatus.PENDING, error=None, deadline_at=None, updated_at=utcnow())
    )
    run.status = RunStatus.PENDING
    return start_run(session, run)


def finish_if_done(session: Session, run: EvaluationRun) -> bool:
    """Finish the run when no scenario is left to run (the caller holds the run's row lock)."""
    if run.status in TERMINAL:
        return False
    counts = progress(session, [run.id])[run.id]
    if counts.pending or counts.queued or counts.running:
        return False
    if counts.total and counts.failure + counts.cancelled == counts.total:
        status = RunStatus.FAILURE
    elif counts.failure or counts.errors:
        status = RunStatus.ERRORS
    else:
        status = RunStatus.SUCCESS
    _finish(session, run, status)
    return True


def _finish(session: Session, run: EvaluationRun, status: RunStatus) -> None:
    from lamina.evaluations.metrics import refresh_metrics

    run.status = status
    run.flags = {**(run.flags or {}), "is_active": False}
    run.finished_at = utcnow()
    session.flush()
    refresh_metrics(session, run)
    counts = progress(session, [run.id])[run.id]
    stage_event(
        session,
        EventType.EVALUATION_FINISHED,
        EvaluationFinished(
            run_id=run.id,
            name=run.name,
            status=status.value,
            counts={k: v for k, v in counts.model_dump().items() if v},
        ),
        project_id=run.project_id,
    )


def scenario_deadline(seconds: int) -> Any:
    return utcnow() + timedelta(seconds=seconds)
