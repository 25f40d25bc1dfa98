"""TriggersWorkerFunction: consumes the `triggers` queue.

The triggers domain registers its envelope handlers here when it lands; until then every message fails with
"no handler", is redriven to the DLQ after its retries and can be replayed with `lamina dlq replay triggers`.
"""

from lamina.logs import lambda_handler
from lamina.queues.names import Queue
from lamina.queues.worker import queue_worker

handler = lambda_handler(queue_worker(Queue.TRIGGERS, {}))
