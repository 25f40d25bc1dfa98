"""EventsWorkerFunction: consumes the `events` queue."""

from lamina.events.worker import handler

__all__ = ["handler"]
