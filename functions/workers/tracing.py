"""TracingWorkerFunction: consumes the `tracing` queue (stored OTLP bodies into the `spans` table)."""

from lamina.logs import lambda_handler
from lamina.queues.names import Queue
from lamina.queues.worker import queue_worker
from lamina.tracing.service import OTLP_RECEIVED
from lamina.tracing.worker import ingest_stored_body

handler = lambda_handler(queue_worker(Queue.TRACING, {OTLP_RECEIVED: ingest_stored_body}))
