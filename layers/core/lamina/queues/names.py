"""The stack's queues, declared once: settings, publishers, workers, the template and the tests name them here."""

from __future__ import annotations

from enum import StrEnum


class Queue(StrEnum):
    """One SQS queue (with its dead-letter queue) per worker; the template names them `<stack>-<value>`."""

    EVALUATIONS = "evaluations"
    TRACING = "tracing"
    WEBHOOKS = "webhooks"
    EVENTS = "events"
    RECORDS = "records"
    INTERACTIONS = "interactions"
    TRIGGERS = "triggers"

    @property
    def url_variable(self) -> str:
        """The environment variable holding the queue's URL, e.g. `EVENTS_QUEUE_URL`."""
        return f"{self.value.upper()}_QUEUE_URL"
