"""The events worker: record every domain event, then fan it out (webhooks; triggers join here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lamina.events.service import record_event
from lamina.queues.names import Queue
from lamina.queues.worker import queue_worker

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from lamina.queues.envelope import Envelope


def record_and_fan_out(envelope: Envelope, session: Session) -> None:
    """Record the event and stage its deliveries in one transaction (committed with its inbox record)."""
    from lamina.webhooks.fanout import stage_webhook_deliveries

    record_event(envelope, session)
    stage_webhook_deliveries(envelope, session)


handler = queue_worker(Queue.EVENTS, {"*": record_and_fan_out})
