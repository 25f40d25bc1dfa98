"""The events worker: record every domain event; fan-out to webhooks and triggers joins here later."""

from __future__ import annotations

from lamina.events.service import record_event
from lamina.queues.names import Queue
from lamina.queues.worker import queue_worker

handler = queue_worker(Queue.EVENTS, {"*": record_event})
