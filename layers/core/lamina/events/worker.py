"""The events worker: record every domain event, then fan it out to the triggers that match it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lamina.events.service import record_event
from lamina.queues.names import Queue
from lamina.queues.worker import queue_worker
from lamina.triggers.dispatch import fan_out_event

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from lamina.queues.envelope import Envelope


def handle_event(envelope: Envelope, session: Session) -> None:
    """Record the event and stage its trigger deliveries, in one transaction with the inbox record."""
    record_event(envelope, session)
    fan_out_event(envelope, session)


handler = queue_worker(Queue.EVENTS, {"*": handle_event})
