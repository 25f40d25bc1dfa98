"""One turn per interactions envelope, however often it is delivered.

The inbox records an envelope as done only when its handler's transaction commits, and a turn runs on the
runner (an HTTP call, minutes long) before that: a crash mid-turn releases the claim and the redelivery would
run the turn — and its workspace side effects — a second time. So the handler first records the turn, keyed
by the envelope-derived turn id, as started and commits that on its own, then calls the runner (holding no
transaction or row lock across the call), then records the outcome in a second transaction with the inbox's
completion. A delivery that finds the turn already recorded never calls the runner again:

- the turn finished (its result record arrived): nothing left to run;
- the turn was started but never finished (the earlier consumer crashed mid-turn): it is marked `failed`
  with the reason `interrupted`, not re-run (the runner may even still be running it; if its result record
  arrives later, the records worker overwrites this status with the real one).

When the runner refused the turn outright (busy, 4xx, unreachable before connecting) nothing ran, so the
started mark is removed and the retry runs the turn normally.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

TERMINAL_STATUSES = frozenset({"completed", "paused", "failed", "killed"})
INTERRUPTED = "interrupted: the worker running this turn stopped before recording its outcome; not re-run"


class EarlierDelivery(StrEnum):
    FINISHED = "finished"
    INTERRUPTED = "interrupted"


def start_turn(
    session: Session, *, project_id: uuid.UUID, session_id: uuid.UUID, turn_id: uuid.UUID, turn_index: int
) -> EarlierDelivery | None:
    """Record the turn as started and commit; None when this delivery is to run it, else what became of it."""
    from sqlalchemy import func
    from sqlalchemy.dialects.postgresql import insert

    from lamina.db.unit_of_work import commit
    from lamina.sessions.models import SessionTurn

    inserted = session.execute(
        insert(SessionTurn)
        .values(
            id=turn_id,
            project_id=project_id,
            session_id=session_id,
            turn_index=turn_index,
            status="running",
            spec={},
            start_time=func.now(),
        )
        .on_conflict_do_nothing()
        .returning(SessionTurn.id)
    ).scalar_one_or_none()
    if inserted is not None:
        commit(session)  # the mark must survive a crash during the run; this also ends every row lock
        return None
    turn = session.get(SessionTurn, turn_id, with_for_update=True, populate_existing=True)
    if turn is None or turn.status in TERMINAL_STATUSES:
        return EarlierDelivery.FINISHED
    turn.status = "failed"
    turn.result = {"status": "failed", "error": INTERRUPTED}
    turn.end_time = func.now()
    return EarlierDelivery.INTERRUPTED


def forget_unstarted_turn(session: Session, turn_id: uuid.UUID) -> None:
    """The runner refused the turn, so nothing ran: remove the started mark so that the retry runs it."""
    from sqlalchemy import delete, select

    from lamina.db.unit_of_work import commit
    from lamina.sessions.models import SessionRecord, SessionTurn

    session.rollback()
    session.execute(
        delete(SessionTurn).where(
            SessionTurn.id == turn_id,
            SessionTurn.status == "running",
            ~SessionTurn.id.in_(select(SessionRecord.turn_id).where(SessionRecord.turn_id == turn_id)),
        )
    )
    commit(session)
