"""InteractionsWorkerFunction: consumes the `interactions` queue (answers → a new turn on the runner)."""

from lamina.logs import lambda_handler
from lamina.queues.names import Queue
from lamina.queues.worker import queue_worker
from lamina.sessions.worker import INTERACTIONS_HANDLERS

handler = lambda_handler(queue_worker(Queue.INTERACTIONS, INTERACTIONS_HANDLERS))
