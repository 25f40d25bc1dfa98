"""The events worker: record every domain event; fan-out to webhooks and triggers joins here later."""

from __future__ import annotations

from lamina.events.service import record_event
from lamina.queues import Envelope
from lamina.queues.worker import queue_worker


def handle_event(envelope: Envelope) -> None:
    record_event(envelope)


handler = queue_worker("events", {"*": handle_event})
