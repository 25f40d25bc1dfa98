"""Starting a turn from the API. A route cannot wait for an agent turn (an API Gateway request lasts 30 s),
so it stages a `sessions.turn.requested` command on the `interactions` queue — the queue of commands that
run a session's next turn on the runner — and answers at once with the turn's id; the turn's events then
arrive as records like any other's."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from lamina.queues.envelope import Envelope, PoisonMessageError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from lamina.sessions import schemas
    from lamina.sessions.turn_guard import EarlierDelivery
    from lamina.tenancy.principal import Principal

TURN_REQUESTED = "sessions.turn.requested"
TOOLS_CALLBACK_PATH = "/api/sessions/tools/call"


def request_turn(
    session: Session, principal: Principal, body: schemas.TurnRun
) -> tuple[uuid.UUID, uuid.UUID]:
    """Record the session (if new) and stage its next turn; returns (session id, turn id)."""
    from sqlalchemy.dialects.postgresql import insert

    from lamina.events.outbox import stage_message
    from lamina.ids import uuid7
    from lamina.queues.names import Queue
    from lamina.sessions.models import AgentSession
    from lamina.sessions.service import get_session

    session_id = body.session_id or uuid7()
    session.execute(
        insert(AgentSession)
        .values(id=session_id, project_id=principal.project_id, status="running", spec={}, messages=[])
        .on_conflict_do_nothing()
    )
    get_session(session, principal.project_id, session_id)  # 404 when the id is another project's
    turn_id = uuid7()
    stage_message(
        session,
        Queue.INTERACTIONS,
        TURN_REQUESTED,
        {"session_id": str(session_id), "turn_id": str(turn_id), "run": body.run.model_dump(mode="json")},
        project_id=principal.project_id,
    )
    return session_id, turn_id


def model_connection(project_id: uuid.UUID, model_name: str, api_base: str | None = None) -> dict[str, Any]:
    """The model as the runner receives it: its litellm name and its connection from the project's vault."""
    from lamina.services.providers import resolve_model_calls
    from lamina.settings import get_settings

    call = resolve_model_calls(project_id, [model_name], local=get_settings().is_local)[0]
    model: dict[str, Any] = {"model": call.litellm_model}
    for key in ("api_base", "api_key", "api_version"):
        if call.connection.get(key):
            model[key] = call.connection[key]
    if "api_base" not in model and api_base:
        model["api_base"] = api_base
    return model


def run_requested_turn(envelope: Envelope, session: Session) -> None:
    """The interactions worker: run a turn the API requested, continuing the session's conversation."""
    from lamina.sessions.models import AgentSession
    from lamina.settings import get_settings

    payload = envelope.payload
    if envelope.project_id is None:
        raise PoisonMessageError("a turn request names its project")
    try:
        session_id, turn_id = uuid.UUID(str(payload["session_id"])), uuid.UUID(str(payload["turn_id"]))
    except (KeyError, ValueError):
        raise PoisonMessageError("a turn request names its session and turn") from None
    owner = session.get(AgentSession, session_id)
    if owner is None or owner.project_id != envelope.project_id:
        raise PoisonMessageError(f"session {session_id} not found")
    run = dict(payload.get("run") or {})
    api_url = get_settings().api_url.rstrip("/")
    turn_index = owner.last_turn_index + 1
    body = {
        "session_id": str(session_id),
        "project_id": str(envelope.project_id),
        "turn_id": str(turn_id),
        "turn_index": turn_index,
        "harness": run.get("harness") or {},
        "model": model_connection(envelope.project_id, str(run.get("model") or "mock/echo")),
        "messages": [*(owner.messages or []), *(run.get("messages") or [])],
        "system_prompt": run.get("system_prompt"),
        "tools": run.get("tools") or [],
        "tool_callback": {"url": api_url + TOOLS_CALLBACK_PATH} if api_url else None,
    }
    run_turn_once(session, envelope.project_id, session_id, turn_id, turn_index, body)


def run_turn_once(
    session: Session,
    project_id: uuid.UUID,
    session_id: uuid.UUID,
    turn_id: uuid.UUID,
    turn_index: int,
    body: dict[str, Any],
) -> EarlierDelivery | None:
    """Run the turn on the runner unless a delivery of the same envelope already started it
    (`lamina.sessions.turn_guard`); None when this delivery ran it."""
    from lamina.sessions import runner_client
    from lamina.sessions.turn_guard import forget_unstarted_turn, start_turn

    earlier = start_turn(
        session, project_id=project_id, session_id=session_id, turn_id=turn_id, turn_index=turn_index
    )
    if earlier is not None:
        return earlier
    try:
        runner_client.run_turn(body)
    except (runner_client.RunnerBusyError, runner_client.RunnerRefusedError):
        forget_unstarted_turn(session, turn_id)
        raise
    return None
