"""SQS: message envelopes, publishing, and the batch processor every worker uses."""

from lamina.queues.batch import BatchProcessingError, SqsRecord, process_sqs_batch
from lamina.queues.envelope import Envelope, PoisonMessageError
from lamina.queues.publish import publish, publish_many

__all__ = [
    "BatchProcessingError",
    "Envelope",
    "PoisonMessageError",
    "SqsRecord",
    "process_sqs_batch",
    "publish",
    "publish_many",
]
