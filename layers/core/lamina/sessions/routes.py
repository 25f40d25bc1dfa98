"""`/api/sessions/…`: sessions, turns, records and interactions of agent runs (Agenta's paths and shapes),
and the call-back the runner relays server-side tool calls to."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from lamina.api.deps import ProjectEditor, ProjectViewer, SessionDep
from lamina.api.routing import DeferredRouter
from lamina.sessions import schemas

if TYPE_CHECKING:
    from lamina.sessions import interactions, runs
    from lamina.sessions import service as sessions
else:
    from lamina.lazy import lazy_module

    sessions = lazy_module("lamina.sessions.service")
    runs = lazy_module("lamina.sessions.runs")
    interactions = lazy_module("lamina.sessions.interactions")

router = DeferredRouter(tags=["sessions"])


@router.post("/sessions/query")
def query_sessions(
    body: schemas.SessionsQuery, session: SessionDep, principal: ProjectViewer
) -> schemas.SessionsResponse:
    rows, next_cursor = sessions.query_sessions(session, principal, body)
    views = [schemas.SessionView.of(row) for row in rows]
    return schemas.SessionsResponse(
        count=len(views), sessions=views, windowing=schemas.WindowOut(next=next_cursor)
    )


@router.post("/sessions/turns/run")
def run_turn(body: schemas.TurnRun, session: SessionDep, principal: ProjectEditor) -> schemas.TurnRequested:
    """Queue a session's next turn on the runner; its events arrive as the session's records."""
    session_id, turn_id = runs.request_turn(session, principal, body)
    return schemas.TurnRequested(count=1, session_id=session_id, turn_id=turn_id)


@router.post("/sessions/turns/query")
def query_turns(
    body: schemas.TurnsQuery, session: SessionDep, principal: ProjectViewer
) -> schemas.TurnsResponse:
    rows, next_cursor = sessions.query_turns(session, principal, body)
    views = [schemas.TurnView.of(row) for row in rows]
    return schemas.TurnsResponse(count=len(views), turns=views, windowing=schemas.WindowOut(next=next_cursor))


@router.get("/sessions/turns/{turn_id}")
def get_turn(turn_id: uuid.UUID, session: SessionDep, principal: ProjectViewer) -> schemas.TurnResponse:
    return schemas.TurnResponse(
        count=1, turn=schemas.TurnView.of(sessions.get_turn(session, principal.project_id, turn_id))
    )


@router.post("/sessions/records/query")
def query_records(
    body: schemas.RecordsQuery, session: SessionDep, principal: ProjectViewer
) -> schemas.RecordsResponse:
    rows, next_cursor = sessions.query_records(session, principal, body)
    views = [schemas.RecordView.of(row) for row in rows]
    return schemas.RecordsResponse(
        count=len(views), records=views, windowing=schemas.WindowOut(next=next_cursor)
    )


@router.get("/sessions/records/{record_id}")
def get_record(record_id: uuid.UUID, session: SessionDep, principal: ProjectViewer) -> schemas.RecordResponse:
    row = sessions.get_record(session, principal.project_id, record_id)
    return schemas.RecordResponse(count=1, record=schemas.RecordView.of(row))


@router.post("/sessions/interactions/query")
def query_interactions(
    body: schemas.InteractionsQuery, session: SessionDep, principal: ProjectViewer
) -> schemas.InteractionsResponse:
    rows, next_cursor = sessions.query_interactions(session, principal, body)
    views = [schemas.InteractionView.of(row) for row in rows]
    return schemas.InteractionsResponse(
        count=len(views), interactions=views, windowing=schemas.WindowOut(next=next_cursor)
    )


@router.get("/sessions/interactions/{interaction_id}")
def get_interaction(
    interaction_id: uuid.UUID, session: SessionDep, principal: ProjectViewer
) -> schemas.InteractionResponse:
    row = interactions.get_interaction(session, principal.project_id, interaction_id)
    return schemas.InteractionResponse(count=1, interaction=schemas.InteractionView.of(row))


@router.post("/sessions/interactions/{interaction_id}/respond")
def respond_interaction(
    interaction_id: uuid.UUID, body: schemas.InteractionRespond, session: SessionDep, principal: ProjectEditor
) -> schemas.InteractionResponse:
    """Answer a paused turn; the interactions worker resumes the session in a new turn."""
    row = interactions.respond(session, principal, interaction_id, body.answer.model_dump(exclude_none=True))
    return schemas.InteractionResponse(count=1, interaction=schemas.InteractionView.of(row))


@router.post("/sessions/tools/call")
def call_tool(body: schemas.ToolCall, session: SessionDep, principal: ProjectEditor) -> schemas.ToolResult:
    """Server-side tools, called by the runner with a short-lived token bound to the session's project."""
    result = sessions.call_server_tool(session, principal, body)
    return schemas.ToolResult(tool_call_id=body.tool_call_id, name=body.name, result=result)


@router.get("/sessions/{session_id}")
def get_session(
    session_id: uuid.UUID, session: SessionDep, principal: ProjectViewer
) -> schemas.SessionResponse:
    row = sessions.get_session(session, principal.project_id, session_id)
    return schemas.SessionResponse(count=1, session=schemas.SessionView.of(row))
