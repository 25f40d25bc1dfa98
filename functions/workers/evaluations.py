"""EvaluationsWorkerFunction: consumes the `evaluations` queue (scenario batches, trigger-requested runs)."""

from lamina.evaluations.worker import HANDLERS
from lamina.logs import lambda_handler
from lamina.queues.names import Queue
from lamina.queues.worker import queue_worker

handler = lambda_handler(queue_worker(Queue.EVALUATIONS, HANDLERS))
