"""Domain events: publishing them (any function) and recording them (the events worker)."""

from __future__ import annotations

import uuid
from typing import Any

from lamina.queues import Envelope, publish
from lamina.queues.envelope import PoisonMessageError

EVENTS_QUEUE = "events"
# Event types are `<domain>.<object>.<verb>`, e.g. `applications.revision.committed`.
EVENT_TYPE_PARTS = 3


def publish_event(type: str, payload: dict[str, Any], *, project_id: uuid.UUID | None) -> Envelope:
    """Publish a domain event for the events worker (and, through it, webhooks and triggers)."""
    return publish(EVENTS_QUEUE, type, payload, project_id=project_id)


def record_event(envelope: Envelope) -> bool:
    """Store the event once; return False when this envelope id was already recorded."""
    from sqlalchemy.dialects.postgresql import insert

    from lamina.db import session_scope
    from lamina.events.models import EventRecord

    if len(envelope.type.split(".")) < EVENT_TYPE_PARTS:
        raise PoisonMessageError(f"event type {envelope.type!r} is not <domain>.<object>.<verb>")
    statement = (
        insert(EventRecord)
        .values(
            id=envelope.id,
            project_id=envelope.project_id,
            type=envelope.type,
            payload=envelope.payload,
            occurred_at=envelope.occurred_at,
        )
        .on_conflict_do_nothing(index_elements=["id"])
    )
    with session_scope() as session:
        result = session.execute(statement)
        return bool(getattr(result, "rowcount", 0))
