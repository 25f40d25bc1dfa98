"""The records worker: a batch of runner events becomes records, and the session, turn and interaction rows
they describe. Idempotent: records are unique on (turn, sequence) and every row is inserted-or-kept, so a
batch delivered twice, or batches delivered out of order, converge on the same rows."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lamina.queues.envelope import Envelope, PoisonMessageError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

RECORDS_BATCH = "records.batch"
TERMINAL_STATUSES = frozenset({"completed", "paused", "failed", "killed"})
# Stored beside each record rather than in its attributes.
ENVELOPE_FIELDS = frozenset({"type", "sequence", "timestamp", "session_id", "turn_id"})


def _uuid(value: Any, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise PoisonMessageError(f"{what} {value!r} is not a UUID") from None


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def interaction_id(turn_id: uuid.UUID, token: str) -> uuid.UUID:
    """The stored id of an interaction: the harness's own when it is a UUID, else derived from it."""
    try:
        return uuid.UUID(token)
    except ValueError:
        return uuid.uuid5(turn_id, token)


def ingest_records(envelope: Envelope, session: Session) -> None:
    from sqlalchemy.dialects.postgresql import insert

    from lamina.sessions.models import AgentSession, SessionRecord, SessionTurn

    payload = envelope.payload
    if envelope.project_id is None:
        raise PoisonMessageError("a records batch names its project")
    project_id = envelope.project_id
    session_id = _uuid(payload.get("session_id"), "session_id")
    turn_id = _uuid(payload.get("turn_id"), "turn_id")
    records = [
        r for r in payload.get("records") or [] if isinstance(r, dict) and isinstance(r.get("sequence"), int)
    ]
    session.execute(
        insert(AgentSession)
        .values(id=session_id, project_id=project_id, spec={}, messages=[])
        .on_conflict_do_nothing()
    )
    session.execute(
        insert(SessionTurn)
        .values(id=turn_id, project_id=project_id, session_id=session_id, spec={})
        .on_conflict_do_nothing()
    )
    owner = session.get(AgentSession, session_id, with_for_update=True)
    if owner is None or owner.project_id != project_id:
        raise PoisonMessageError(f"session {session_id} belongs to another project")
    if records:
        session.execute(
            insert(SessionRecord)
            .values(
                [
                    {
                        "project_id": project_id,
                        "session_id": session_id,
                        "turn_id": turn_id,
                        "sequence": record["sequence"],
                        "record_type": str(record.get("type") or "event")[:100],
                        "timestamp": _time(record.get("timestamp")),
                        "attributes": {k: v for k, v in record.items() if k not in ENVELOPE_FIELDS},
                    }
                    for record in records
                ]
            )
            .on_conflict_do_nothing(index_elements=["turn_id", "sequence"])
        )
    turn = session.get(SessionTurn, turn_id, with_for_update=True)
    assert turn is not None
    for record in sorted(records, key=lambda r: int(r["sequence"])):
        _apply(session, owner, turn, record)


def _apply(session: Session, owner: Any, turn: Any, record: dict[str, Any]) -> None:
    kind = record.get("type")
    if kind == "turn.started":
        turn.turn_index = int(record.get("turn_index") or 0)
        turn.spec = record.get("spec") or {}
        turn.harness_kind = str((turn.spec.get("harness") or {}).get("kind") or "agent")
        turn.start_time = _time(record.get("timestamp"))
        if turn.turn_index >= owner.last_turn_index:
            owner.spec = turn.spec
    elif kind == "interaction.request":
        _record_interaction(session, turn, record)
    elif kind == "result":
        status = str(record.get("status") or "failed")
        turn.status = status if status in TERMINAL_STATUSES else "failed"
        turn.result = {k: v for k, v in record.items() if k not in ENVELOPE_FIELDS}
        turn.end_time = _time(record.get("timestamp"))
        # The latest turn decides the session's state; a late batch of an older turn does not.
        index = int(record.get("turn_index") or turn.turn_index)
        if index >= owner.last_turn_index:
            owner.last_turn_index = index
            owner.status = turn.status
            owner.messages = record.get("messages") or owner.messages


def _record_interaction(session: Session, turn: Any, record: dict[str, Any]) -> None:
    from sqlalchemy.dialects.postgresql import insert

    from lamina.sessions.models import SessionInteraction

    token = str(record.get("interaction_id") or "")[:200]
    if not token:
        return
    kind = str(record.get("kind") or "user_approval")
    session.execute(
        insert(SessionInteraction)
        .values(
            id=interaction_id(turn.id, token),
            project_id=turn.project_id,
            session_id=turn.session_id,
            turn_id=turn.id,
            token=token,
            kind=kind if kind in ("user_approval", "user_input") else "user_approval",
            status="pending",
            request={k: record.get(k) for k in ("tool", "args", "tool_call_id", "prompt")},
        )
        .on_conflict_do_nothing()
    )
