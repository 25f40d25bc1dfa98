"""The `evaluations` queue's handlers: run a batch of scenarios, and create a run a trigger requested."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, Integer, String, Text, bindparam, cast, column, func, select, update, values
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql import insert

from lamina.db.base import utcnow
from lamina.evaluations import service
from lamina.evaluations.execution import (
    Application,
    BatchPlan,
    Evaluator,
    ScenarioOutcome,
    ScenarioWork,
    run_batch,
)
from lamina.evaluations.models import EvaluationResult, EvaluationRun, EvaluationScenario
from lamina.evaluations.schemas import TERMINAL, RunData, RunStatus, SimpleEvaluationSpec
from lamina.events.outbox import stage_message
from lamina.ids import uuid7
from lamina.queues.names import Queue

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from lamina.queues.envelope import Envelope
    from lamina.tenancy.principal import Principal

logger = logging.getLogger(__name__)

# A scenario deferred (its provider kept answering 429) this many times fails with that reason.
MAX_DEFERRALS = 5
DEFERRAL_DELAY_S = 10.0
# A deferred batch waits in-process for its `not_before`, at most this long (the rest of the wait is SQS's).
MAX_WAIT_S = 30.0
WORKER = "evaluations-worker"


def _upsert_results_statement() -> Any:
    """INSERT ... SELECT FROM jsonb_to_recordset(:rows), upserted on (scenario, step, repeat)."""
    from sqlalchemy.dialects.postgresql import JSONB

    uuid_type = PG_UUID(as_uuid=True)
    columns: dict[str, Any] = {
        "id": uuid_type,
        "project_id": uuid_type,
        "run_id": uuid_type,
        "scenario_id": uuid_type,
        "step_key": String(),
        "repeat_idx": Integer(),
        "status": String(),
        "testcase_id": uuid_type,
        "trace_id": String(),
        "outputs": JSONB(),
        "error": JSONB(),
        "created_at": DateTime(timezone=True),
    }
    incoming = (
        func.jsonb_to_recordset(cast(bindparam("rows", type_=Text()), JSONB()))
        .table_valued(*(column(name, kind) for name, kind in columns.items()))
        .render_derived(name="incoming", with_types=True)
    )
    names = [*columns, "updated_at"]
    picked = select(*(incoming.c[name] for name in columns), incoming.c.created_at.label("updated_at"))
    table: Any = EvaluationResult.__table__
    statement = insert(table).from_select(names, picked)
    return statement.on_conflict_do_update(
        index_elements=["scenario_id", "step_key", "repeat_idx"],
        set_={
            name: statement.excluded[name]
            for name in ("status", "trace_id", "outputs", "error", "testcase_id")
        }
        | {"updated_at": bindparam("now", type_=DateTime(timezone=True))},
    )


def service_principal(session: Session, project_id: uuid.UUID) -> Principal:
    """The worker acting in the run's project (an editor, like the user who started the run)."""
    from lamina.errors import NotFoundError
    from lamina.tenancy.models import Project
    from lamina.tenancy.principal import Principal, PrincipalKind

    project = session.get(Project, project_id)
    if project is None:
        raise NotFoundError(f"project {project_id} not found")
    return Principal(
        kind=PrincipalKind.SERVICE,
        project_id=project.id,
        workspace_id=project.workspace_id,
        organization_id=project.organization_id,
        role="editor",
        service=WORKER,
    )


def _claim(
    run_id: uuid.UUID, scenario_ids: list[uuid.UUID]
) -> tuple[list[EvaluationScenario], BatchPlan | None]:
    """Mark the batch's scenarios running (committed now, so the watchdog sees them) and plan the batch."""
    from lamina.db.unit_of_work import unit_of_work
    from lamina.settings import get_settings

    settings = get_settings()
    with unit_of_work() as session:
        run = session.get(EvaluationRun, run_id)
        if run is None or run.status in TERMINAL:
            return [], None
        claimed = list(
            session.execute(
                update(EvaluationScenario)
                .where(
                    EvaluationScenario.id.in_(scenario_ids),
                    EvaluationScenario.run_id == run_id,
                    # `running`: a crashed earlier delivery of this batch; the watchdog's failures stay.
                    EvaluationScenario.status.in_((RunStatus.PENDING, RunStatus.QUEUED, RunStatus.RUNNING)),
                )
                .values(
                    status=RunStatus.RUNNING,
                    attempts=EvaluationScenario.attempts + 1,
                    deadline_at=service.scenario_deadline(settings.evaluation_scenario_deadline_s),
                    updated_at=utcnow(),
                )
                .returning(EvaluationScenario)
            ).scalars()
        )
        if not claimed:
            return [], None
        principal = service_principal(session, run.project_id)
        applications = {}
        for revision_id in {
            scenario.application_revision_id for scenario in claimed if scenario.application_revision_id
        }:
            try:
                revision = service.application_revision(session, principal, str(revision_id))
            except Exception:
                logger.warning(
                    "application revision unavailable", extra={"revision_id": str(revision_id)}, exc_info=True
                )
                continue
            applications[revision_id] = _application(revision_id, revision)
        evaluators = _evaluators(session, run)
        plan = BatchPlan(
            run_id=run.id,
            principal=principal,
            repeats=run.repeats,
            concurrency=run.concurrency,
            applications=applications,
            evaluators=evaluators,
            local=settings.is_local,
        )
        session.expunge_all()
    return claimed, plan


def _application(revision_id: uuid.UUID, revision: dict[str, Any]) -> Application:
    data = revision.get("data") or {}
    parameters = dict(data.get("parameters") or {})
    model = str(((parameters.get("prompt") or {}).get("llm_config") or {}).get("model") or "")
    kind = "chat" if "chat" in str(data.get("uri") or "") else "completion"
    return Application(
        revision_id=revision_id,
        kind=kind,
        parameters=parameters,
        provider=model.split("/", 1)[0] if "/" in model else "openai",
    )


def _evaluators(session: Session, run: EvaluationRun) -> list[Evaluator]:
    steps = (run.data or {}).get("evaluator_steps") or {}
    if not steps:
        return []
    from lamina.api.schemas import Reference
    from lamina.evaluators.service import evaluator_of

    evaluators = []
    for step, origin in steps.items():
        if origin == "human":
            continue  # scored by a person through the annotation route
        revision = evaluator_of(session, run.project_id, Reference(id=uuid.UUID(step)))
        evaluators.append(
            Evaluator(
                step_key=service.evaluator_step_key(revision.id),
                revision_id=revision.id,
                kind=str(revision.kind),
                settings=dict(revision.settings or {}),
            )
        )
    return evaluators


def _event_loop() -> asyncio.AbstractEventLoop:
    """This thread's event loop, kept across invocations: litellm's HTTP clients live on it and are reused by
    a warm function instead of being rebuilt per message."""
    import threading

    from lamina.state import current

    return current().memo(f"evaluations:event_loop:{threading.get_ident()}", asyncio.new_event_loop)


def process_scenarios(envelope: Envelope, session: Session) -> None:
    """Run a batch of scenarios, then write their results and statuses with the inbox record."""
    payload = envelope.payload
    run_id = uuid.UUID(payload["run_id"])
    wait = float(payload.get("not_before") or 0) - time.time()
    if wait > 0:
        time.sleep(min(wait, MAX_WAIT_S))
    claimed, plan = _claim(run_id, [uuid.UUID(i) for i in payload.get("scenario_ids") or []])
    if plan is None:
        return
    works = [
        ScenarioWork(s.id, s.testcase_id, s.application_revision_id, dict(s.inputs or {})) for s in claimed
    ]
    outcomes = _event_loop().run_until_complete(run_batch(plan, works))
    record_outcomes(session, run_id, outcomes, deferrals=int(payload.get("deferrals") or 0))


def record_outcomes(
    session: Session, run_id: uuid.UUID, outcomes: list[ScenarioOutcome], *, deferrals: int
) -> None:
    run = session.execute(
        select(EvaluationRun).where(EvaluationRun.id == run_id).with_for_update()
    ).scalar_one()
    rows = [
        {"id": uuid7(), "project_id": run.project_id, "run_id": run.id, **row}
        for outcome in outcomes
        for row in outcome.results
    ]
    if rows:
        # One statement with one parameter (the rows as JSON): its SQL is compiled once per process. A list
        # of parameters would be an executemany, a round trip per row; a multi-row VALUES is compiled anew
        # for every batch, 2,000 bind parameters at a time.
        now = utcnow()
        incoming = [
            {"trace_id": None, "outputs": None, "error": None, **row, "created_at": now} for row in rows
        ]
        session.execute(_UPSERT_RESULTS, {"rows": json.dumps(incoming, default=str), "now": now})
    deferred = [o.scenario_id for o in outcomes if o.deferred]
    settled = []
    for outcome in outcomes:
        status, error = outcome.status, outcome.error
        if outcome.deferred:
            if deferrals < MAX_DEFERRALS:
                continue
            status, error = RunStatus.FAILURE, f"rate limited: {error}"
        settled.append({"b_id": outcome.scenario_id, "b_status": str(status), "b_error": error})
    if settled:
        # One UPDATE ... FROM (VALUES ...) for the whole batch (an executemany is a round trip per row).
        # Only a scenario still running is settled: the watchdog or a stop may have ended it meanwhile.
        outcomes_table = values(
            column("b_id", PG_UUID(as_uuid=True)),
            column("b_status", String()),
            column("b_error", Text()),
            name="settled",
        ).data([(row["b_id"], row["b_status"], row["b_error"]) for row in settled])
        table: Any = EvaluationScenario.__table__
        session.execute(
            update(table)
            .where(table.c.id == outcomes_table.c.b_id, table.c.status == RunStatus.RUNNING.value)
            .values(
                status=outcomes_table.c.b_status,
                error=outcomes_table.c.b_error,
                deadline_at=None,
                updated_at=utcnow(),
            )
        )
    if deferred and deferrals < MAX_DEFERRALS:
        session.execute(
            update(EvaluationScenario)
            .where(EvaluationScenario.id.in_(deferred), EvaluationScenario.status == RunStatus.RUNNING)
            .values(status=RunStatus.QUEUED, deadline_at=None, updated_at=utcnow())
        )
        stage_message(
            session,
            Queue.EVALUATIONS,
            service.PROCESS_SCENARIOS,
            {
                "run_id": str(run.id),
                "scenario_ids": [str(i) for i in deferred],
                "deferrals": deferrals + 1,
                "not_before": time.time() + DEFERRAL_DELAY_S * (deferrals + 1),
            },
            project_id=run.project_id,
        )
    session.flush()
    service.finish_if_done(session, run)


def run_requested(envelope: Envelope, session: Session) -> None:
    """A trigger asks for a run: create and start it, once per delivery."""
    payload = envelope.payload
    project_id = uuid.UUID(str(payload.get("project_id") or envelope.project_id))
    delivery_id = uuid.UUID(str(payload["delivery_id"]))
    trigger_id = uuid.UUID(str(payload["trigger_id"])) if payload.get("trigger_id") else None
    existing = session.execute(
        select(EvaluationRun.id).where(
            EvaluationRun.project_id == project_id, EvaluationRun.delivery_id == delivery_id
        )
    ).scalar_one_or_none()
    if existing is not None:
        logger.info("run already created for this delivery", extra={"run_id": str(existing)})
        return
    body = dict(payload.get("run") or {})
    spec = (
        SimpleEvaluationSpec.model_validate(body)
        if "data" in body
        else SimpleEvaluationSpec(data=RunData.model_validate(body))
    )
    principal = service_principal(session, project_id)
    service.create_run(session, principal, spec, delivery_id=delivery_id, trigger_id=trigger_id)


_UPSERT_RESULTS = _upsert_results_statement()

HANDLERS = {service.PROCESS_SCENARIOS: process_scenarios, service.RUN_REQUESTED: run_requested}
