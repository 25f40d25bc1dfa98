"""Reading sessions back: sessions, turns, records and interactions, always within the caller's project."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from lamina.errors import NotFoundError
from lamina.sessions.models import AgentSession, SessionInteraction, SessionRecord, SessionTurn

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from lamina.api.schemas import Windowing
    from lamina.sessions import schemas
    from lamina.tenancy.principal import Principal

DEFAULT_LIMIT = 100
RECORDS_DEFAULT_LIMIT = 1000


def _limit(windowing: Windowing | None, default: int) -> int:
    return windowing.limit if windowing is not None and windowing.model_fields_set & {"limit"} else default


def get_session(session: Session, project_id: uuid.UUID, session_id: uuid.UUID) -> AgentSession:
    row = session.get(AgentSession, session_id)
    if row is None or row.project_id != project_id:
        raise NotFoundError(f"session {session_id} not found")
    return row


def query_sessions(session: Session, principal: Principal, body: schemas.SessionsQuery) -> list[AgentSession]:
    statement = select(AgentSession).where(AgentSession.project_id == principal.project_id)
    if body.session is not None and body.session.status is not None:
        statement = statement.where(AgentSession.status == body.session.status)
    if body.session_ids:
        statement = statement.where(AgentSession.id.in_(body.session_ids))
    statement = statement.order_by(AgentSession.updated_at.desc()).limit(
        _limit(body.windowing, DEFAULT_LIMIT)
    )
    return list(session.execute(statement).scalars())


def get_turn(session: Session, project_id: uuid.UUID, turn_id: uuid.UUID) -> SessionTurn:
    row = session.get(SessionTurn, turn_id)
    if row is None or row.project_id != project_id:
        raise NotFoundError(f"turn {turn_id} not found")
    return row


def query_turns(session: Session, principal: Principal, body: schemas.TurnsQuery) -> list[SessionTurn]:
    statement = select(SessionTurn).where(SessionTurn.project_id == principal.project_id)
    if body.query is not None and body.query.session_id is not None:
        statement = statement.where(SessionTurn.session_id == body.query.session_id)
    statement = statement.order_by(SessionTurn.session_id, SessionTurn.turn_index, SessionTurn.start_time)
    return list(session.execute(statement.limit(_limit(body.windowing, DEFAULT_LIMIT))).scalars())


def query_records(session: Session, principal: Principal, body: schemas.RecordsQuery) -> list[SessionRecord]:
    """A session's records in the order they happened: by turn, then by sequence within the turn."""
    statement = (
        select(SessionRecord)
        .join(SessionTurn, SessionTurn.id == SessionRecord.turn_id)
        .where(SessionRecord.project_id == principal.project_id, SessionRecord.session_id == body.session_id)
    )
    if body.turn_id is not None:
        statement = statement.where(SessionRecord.turn_id == body.turn_id)
    statement = statement.order_by(SessionTurn.turn_index, SessionTurn.start_time, SessionRecord.sequence)
    return list(session.execute(statement.limit(_limit(body.windowing, RECORDS_DEFAULT_LIMIT))).scalars())


def get_record(session: Session, project_id: uuid.UUID, record_id: uuid.UUID) -> SessionRecord:
    row = session.get(SessionRecord, record_id)
    if row is None or row.project_id != project_id:
        raise NotFoundError(f"record {record_id} not found")
    return row


def query_interactions(
    session: Session, principal: Principal, body: schemas.InteractionsQuery
) -> list[SessionInteraction]:
    statement = select(SessionInteraction).where(SessionInteraction.project_id == principal.project_id)
    query = body.query
    if query is not None:
        if query.session_id is not None:
            statement = statement.where(SessionInteraction.session_id == query.session_id)
        if query.turn_id is not None:
            statement = statement.where(SessionInteraction.turn_id == query.turn_id)
        if query.kind is not None:
            statement = statement.where(SessionInteraction.kind == query.kind)
        if query.status is not None:
            statement = statement.where(SessionInteraction.status == query.status)
    statement = statement.order_by(SessionInteraction.created_at)
    return list(session.execute(statement.limit(_limit(body.windowing, DEFAULT_LIMIT))).scalars())


def call_server_tool(session: Session, principal: Principal, call: schemas.ToolCall) -> Any:
    """Run a server-side tool for an agent. The registry is small for now: tools that read the session."""
    existing = session.get(AgentSession, call.session_id)
    if existing is not None and existing.project_id != principal.project_id:
        raise NotFoundError(f"session {call.session_id} not found")
    if call.name == "session_info":
        # The session's rows may not be stored yet (records trail the run): answer from the call itself.
        return {
            "project_id": str(principal.project_id),
            "session_id": str(call.session_id),
            "caller": principal.actor,
        }
    raise NotFoundError(f"no server-side tool named {call.name!r}")
