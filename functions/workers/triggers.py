"""TriggersWorkerFunction: consumes the `triggers` queue (runs trigger deliveries)."""

from lamina.logs import lambda_handler
from lamina.triggers.worker import handler as handle_triggers

handler = lambda_handler(handle_triggers)
