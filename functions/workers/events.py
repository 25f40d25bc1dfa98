"""EventsWorkerFunction: consumes the `events` queue."""

from lamina.events.worker import handler as handle_events
from lamina.logs import lambda_handler

handler = lambda_handler(handle_events)
