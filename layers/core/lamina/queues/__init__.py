"""SQS: queue names, message envelopes, publishing, the batch processor and the inbox every worker uses.

Re-exports are resolved on first access: `lamina.settings` imports `lamina.queues.names`, and that must not
pull pydantic models and SQLAlchemy into every function's cold start. Publish with
`from lamina.queues.publish import publish` (the submodule's name would shadow a lazily re-exported function).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from lamina.queues.names import Queue

if TYPE_CHECKING:
    from lamina.queues.batch import BatchProcessingError, SqsRecord, process_sqs_batch
    from lamina.queues.envelope import Envelope, PoisonMessageError

_EXPORTS = {
    "BatchProcessingError": "lamina.queues.batch",
    "SqsRecord": "lamina.queues.batch",
    "process_sqs_batch": "lamina.queues.batch",
    "Envelope": "lamina.queues.envelope",
    "PoisonMessageError": "lamina.queues.envelope",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lamina.queues' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "BatchProcessingError",
    "Envelope",
    "PoisonMessageError",
    "Queue",
    "SqsRecord",
    "process_sqs_batch",
]
