"""Answering a paused turn, and resuming its session in a new turn with the answer.

`respond` (the API) records the answer and stages an `interactions.responded` command on the `interactions`
queue in the same transaction; the interactions worker (`resume`) then runs the next turn on the runner:
the session's conversation so far, its spec, the model's connection from the project's vault, and the
answer — the runner restores the session's workspace, so the turn continues where the paused one stopped.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from lamina.errors import ConflictError, NotFoundError, ValidationFailedError
from lamina.queues.envelope import Envelope, PoisonMessageError
from lamina.tenancy.principal import Principal

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from lamina.sessions.models import SessionInteraction

INTERACTION_RESPONDED = "interactions.responded"
VERDICTS = frozenset({"approved", "denied"})


def get_interaction(
    session: Session, project_id: uuid.UUID, interaction_id: uuid.UUID, *, lock: bool = False
) -> SessionInteraction:
    from lamina.sessions.models import SessionInteraction

    row = session.get(SessionInteraction, interaction_id, with_for_update=lock)
    if row is None or row.project_id != project_id:
        raise NotFoundError(f"interaction {interaction_id} not found")
    return row


def _normalised_answer(kind: str, answer: dict[str, Any]) -> dict[str, Any]:
    if answer.get("verdict") not in VERDICTS:
        raise ValidationFailedError('an answer needs "verdict": "approved" or "denied"')
    return answer


def respond(
    session: Session, principal: Principal, interaction_id: uuid.UUID, answer: dict[str, Any]
) -> SessionInteraction:
    """Record a person's answer and hand it to the interactions worker (once: a second answer is 409)."""
    from lamina.events.outbox import stage_message
    from lamina.queues.names import Queue

    row = get_interaction(session, principal.project_id, interaction_id, lock=True)
    if row.status != "pending":
        raise ConflictError(f"interaction {interaction_id} is already {row.status}")
    row.answer = _normalised_answer(row.kind, answer)
    row.status = "responded"
    row.responded_by = principal.actor
    stage_message(
        session,
        Queue.INTERACTIONS,
        INTERACTION_RESPONDED,
        {"interaction_id": str(row.id), "session_id": str(row.session_id)},
        project_id=row.project_id,
    )
    return row


def resume_request(session: Session, row: SessionInteraction, turn_id: uuid.UUID) -> dict[str, Any]:
    """The runner request that continues the paused session with the interaction's answer."""
    from lamina.sessions.models import AgentSession
    from lamina.sessions.runs import model_connection

    owner = session.get(AgentSession, row.session_id)
    if owner is None:
        raise PoisonMessageError(f"session {row.session_id} not found")
    spec = dict(owner.spec or {})
    declared = spec.get("model") or {}
    model = model_connection(
        row.project_id, str(declared.get("model") or "mock/echo"), declared.get("api_base")
    )
    answer = row.answer or {}
    return {
        "session_id": str(row.session_id),
        "project_id": str(row.project_id),
        "turn_id": str(turn_id),
        "turn_index": owner.last_turn_index + 1,
        "harness": spec.get("harness") or {},
        "model": model,
        "messages": owner.messages or [],
        "system_prompt": spec.get("system_prompt"),
        "tools": spec.get("tools") or [],
        "tool_callback": spec.get("tool_callback"),
        "resume": {
            "interaction_id": row.token,
            "tool_call_id": (row.request or {}).get("tool_call_id"),
            "kind": row.kind,
            "verdict": answer.get("verdict"),
            "answer": answer.get("text", answer.get("answer", answer)) if row.kind == "user_input" else None,
        },
    }


def resume(envelope: Envelope, session: Session) -> None:
    """The interactions worker: run the next turn with the answer, then mark the interaction resolved.

    Once per envelope (`lamina.sessions.turn_guard`): the turn is recorded as started, and the row lock
    released, before the runner is called; a redelivery finds it and does not run it again."""
    from lamina.sessions.runs import run_turn_once

    if envelope.project_id is None:
        raise PoisonMessageError("an interaction command names its project")
    try:
        interaction_id = uuid.UUID(str(envelope.payload.get("interaction_id")))
    except ValueError:
        raise PoisonMessageError("interaction_id is not a UUID") from None
    row = get_interaction(session, envelope.project_id, interaction_id, lock=True)
    if row.status != "responded":
        return  # resolved by an earlier delivery, or cancelled
    # The same turn id for every delivery of this envelope: the key of "this turn already started".
    turn_id = uuid.uuid5(envelope.id, "resume")
    body = resume_request(session, row, turn_id)
    run_turn_once(session, row.project_id, row.session_id, turn_id, int(body["turn_index"]), body)
    # A second transaction (start_turn committed the first): the answer went to this turn, run or not.
    row = get_interaction(session, envelope.project_id, interaction_id, lock=True)
    row.status = "resolved"
    row.resolved_turn_id = turn_id
