"""The two queue consumers of agent sessions: records (persist the runner's events) and interactions
(resume a paused session with a person's answer)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lamina.queues.envelope import Envelope

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

RECORDS_BATCH = "records.batch"
INTERACTION_RESPONDED = "interactions.responded"
TURN_REQUESTED = "sessions.turn.requested"


def ingest_records(envelope: Envelope, session: Session) -> None:
    from lamina.sessions.ingest import ingest_records as ingest

    ingest(envelope, session)


def resume_session(envelope: Envelope, session: Session) -> None:
    from lamina.sessions.interactions import resume

    resume(envelope, session)


def run_turn(envelope: Envelope, session: Session) -> None:
    from lamina.sessions.runs import run_requested_turn

    run_requested_turn(envelope, session)


RECORDS_HANDLERS = {RECORDS_BATCH: ingest_records}
INTERACTIONS_HANDLERS = {INTERACTION_RESPONDED: resume_session, TURN_REQUESTED: run_turn}
