"""Domain events: staging them (any domain, through the outbox) and recording them (the events worker)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lamina.events.outbox import stage_event
from lamina.queues.envelope import Envelope, PoisonMessageError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# Event types are `<domain>.<object>.<verb>`, e.g. `applications.revision.committed`.
EVENT_TYPE_PARTS = 3

__all__ = ["EVENT_TYPE_PARTS", "record_event", "stage_event"]


def record_event(envelope: Envelope, session: Session) -> None:
    """Add the event to the event log, in the worker's unit of work (its inbox record commits with it)."""
    from sqlalchemy.dialects.postgresql import insert

    from lamina.events.models import EventRecord

    if len(envelope.type.split(".")) < EVENT_TYPE_PARTS:
        raise PoisonMessageError(f"event type {envelope.type!r} is not <domain>.<object>.<verb>")
    # The inbox already runs this once per envelope; the primary key keeps it so under a direct call too.
    session.execute(
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
