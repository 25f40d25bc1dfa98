"""WebhooksWorkerFunction: consumes the `webhooks` queue (signed deliveries, retries, the DLQ)."""

from lamina.logs import lambda_handler
from lamina.webhooks.worker import handler as deliver_batch

handler = lambda_handler(deliver_batch)
