"""RecordsWorkerFunction: consumes the `records` queue (the runner's event batches → session records)."""

from lamina.logs import lambda_handler
from lamina.queues.names import Queue
from lamina.queues.worker import queue_worker
from lamina.sessions.worker import RECORDS_HANDLERS

handler = lambda_handler(queue_worker(Queue.RECORDS, RECORDS_HANDLERS))
