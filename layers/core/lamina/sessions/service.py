"""Reading sessions back: sessions, turns, records and interactions, always within the caller's project."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, select, tuple_

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


def _window(
    session: Session,
    statement: Select[Any],
    keys: list[Any],
    key_of_cursor: Callable[[uuid.UUID], Any],
    windowing: Windowing | None,
    default_limit: int,
    *,
    descending: bool = False,
) -> tuple[list[Any], uuid.UUID | None]:
    """One window of `statement`'s rows in the order of `keys` (unique, non-null, ending in the row's id).

    The cursor is the last row's id (`windowing.next`); the next window starts after that row's key, which
    is read back from the row (`key_of_cursor`, a select of the same `keys` where the id is the cursor), so
    a cursor stays valid whatever the ordering columns are. A cursor naming no row of the project's gives an
    empty window. Returns the rows and the next window's cursor (None on the last window)."""
    if windowing is not None and windowing.next is not None:
        cursor = key_of_cursor(windowing.next).subquery()
        after = tuple_(*keys) < tuple_(*cursor.c) if descending else tuple_(*keys) > tuple_(*cursor.c)
        statement = statement.where(after)
    statement = statement.order_by(*(key.desc() if descending else key for key in keys))
    limit = _limit(windowing, default_limit)
    rows = list(session.execute(statement.limit(limit + 1)).scalars())
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].id
    return rows, None


def get_session(session: Session, project_id: uuid.UUID, session_id: uuid.UUID) -> AgentSession:
    row = session.get(AgentSession, session_id)
    if row is None or row.project_id != project_id:
        raise NotFoundError(f"session {session_id} not found")
    return row


def query_sessions(
    session: Session, principal: Principal, body: schemas.SessionsQuery
) -> tuple[list[AgentSession], uuid.UUID | None]:
    """The project's sessions, the latest updated first (a session updated while paging moves ahead)."""
    project = AgentSession.project_id == principal.project_id
    statement = select(AgentSession).where(project)
    if body.session is not None and body.session.status is not None:
        statement = statement.where(AgentSession.status == body.session.status)
    if body.session_ids:
        statement = statement.where(AgentSession.id.in_(body.session_ids))
    keys = [AgentSession.updated_at, AgentSession.id]
    return _window(
        session,
        statement,
        keys,
        lambda cursor: select(*keys).where(project, AgentSession.id == cursor),
        body.windowing,
        DEFAULT_LIMIT,
        descending=True,
    )


def get_turn(session: Session, project_id: uuid.UUID, turn_id: uuid.UUID) -> SessionTurn:
    row = session.get(SessionTurn, turn_id)
    if row is None or row.project_id != project_id:
        raise NotFoundError(f"turn {turn_id} not found")
    return row


def query_turns(
    session: Session, principal: Principal, body: schemas.TurnsQuery
) -> tuple[list[SessionTurn], uuid.UUID | None]:
    project = SessionTurn.project_id == principal.project_id
    statement = select(SessionTurn).where(project)
    if body.query is not None and body.query.session_id is not None:
        statement = statement.where(SessionTurn.session_id == body.query.session_id)
    keys = [SessionTurn.session_id, SessionTurn.turn_index, SessionTurn.id]
    return _window(
        session,
        statement,
        keys,
        lambda cursor: select(*keys).where(project, SessionTurn.id == cursor),
        body.windowing,
        DEFAULT_LIMIT,
    )


def query_records(
    session: Session, principal: Principal, body: schemas.RecordsQuery
) -> tuple[list[SessionRecord], uuid.UUID | None]:
    """A session's records in the order they happened: by turn, then by sequence within the turn."""
    project = SessionRecord.project_id == principal.project_id
    statement = (
        select(SessionRecord)
        .join(SessionTurn, SessionTurn.id == SessionRecord.turn_id)
        .where(project, SessionRecord.session_id == body.session_id)
    )
    if body.turn_id is not None:
        statement = statement.where(SessionRecord.turn_id == body.turn_id)
    keys = [SessionTurn.turn_index, SessionRecord.turn_id, SessionRecord.sequence]
    return _window(
        session,
        statement,
        keys,
        lambda cursor: (
            select(*keys)
            .join(SessionTurn, SessionTurn.id == SessionRecord.turn_id)
            .where(project, SessionRecord.id == cursor)
        ),
        body.windowing,
        RECORDS_DEFAULT_LIMIT,
    )


def get_record(session: Session, project_id: uuid.UUID, record_id: uuid.UUID) -> SessionRecord:
    row = session.get(SessionRecord, record_id)
    if row is None or row.project_id != project_id:
        raise NotFoundError(f"record {record_id} not found")
    return row


def query_interactions(
    session: Session, principal: Principal, body: schemas.InteractionsQuery
) -> tuple[list[SessionInteraction], uuid.UUID | None]:
    project = SessionInteraction.project_id == principal.project_id
    statement = select(SessionInteraction).where(project)
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
    keys = [SessionInteraction.created_at, SessionInteraction.id]
    return _window(
        session,
        statement,
        keys,
        lambda cursor: select(*keys).where(project, SessionInteraction.id == cursor),
        body.windowing,
        DEFAULT_LIMIT,
    )


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
