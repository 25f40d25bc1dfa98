"""The watchdog (run by the cron): a scenario stuck past its deadline fails with a reason, and its run finishes.

Stuck means running past `deadline_at` (its invocation died or hangs), or queued for longer than a deadline
(its message was lost or is poisoned in the DLQ). Either way the run still reaches a terminal state.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update

from lamina.db.base import utcnow
from lamina.evaluations.models import EvaluationRun, EvaluationScenario
from lamina.evaluations.schemas import RunStatus

MAX_PER_PASS = 5000


def fail_stuck_scenarios() -> dict[str, Any]:
    from lamina.db.unit_of_work import unit_of_work
    from lamina.evaluations.service import finish_if_done
    from lamina.settings import get_settings

    deadline = timedelta(seconds=get_settings().evaluation_scenario_deadline_s)
    now = utcnow()
    with unit_of_work() as session:
        stuck = session.execute(
            select(EvaluationScenario.id, EvaluationScenario.run_id, EvaluationScenario.status)
            .where(
                or_(
                    (EvaluationScenario.status == RunStatus.RUNNING) & (EvaluationScenario.deadline_at < now),
                    (EvaluationScenario.status == RunStatus.QUEUED)
                    & (EvaluationScenario.updated_at < now - deadline),
                )
            )
            .limit(MAX_PER_PASS)
            .with_for_update(skip_locked=True)
        ).all()
        for scenario_id, _, status in stuck:
            reason = (
                "no result before its deadline: the worker running it stopped or hung"
                if status == RunStatus.RUNNING
                else "never picked up from the queue before its deadline"
            )
            session.execute(
                update(EvaluationScenario)
                .where(EvaluationScenario.id == scenario_id)
                .values(
                    status=RunStatus.FAILURE, error=f"watchdog: {reason}", deadline_at=None, updated_at=now
                )
            )
        finished = 0
        for run_id in sorted({run_id for _, run_id, _ in stuck}):
            run = session.execute(
                select(EvaluationRun).where(EvaluationRun.id == run_id).with_for_update()
            ).scalar_one()
            finished += int(finish_if_done(session, run))
    return {"failed_scenarios": len(stuck), "finished_runs": finished}
