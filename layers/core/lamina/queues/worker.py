"""The shape every SQS worker shares: envelopes routed by `type` to the handlers its domain registers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from lamina.queues.batch import RedisIdempotencyStore, SqsRecord, process_sqs_batch
from lamina.queues.envelope import Envelope, PoisonMessageError

logger = logging.getLogger(__name__)

EnvelopeHandler = Callable[[Envelope], None]
LambdaHandler = Callable[[Mapping[str, Any], Any], dict[str, list[dict[str, str]]]]


def route_envelope(handlers: Mapping[str, EnvelopeHandler], record: SqsRecord) -> None:
    """Decode the record's envelope and run the handler for its type (exact type, else its `prefix.*`)."""
    envelope = record.envelope()
    handler = handlers.get(envelope.type)
    if handler is None:
        prefix = envelope.type.rsplit(".", 1)[0]
        while handler is None and prefix:
            handler = handlers.get(f"{prefix}.*")
            prefix = prefix.rsplit(".", 1)[0] if "." in prefix else ""
    if handler is None:
        handler = handlers.get("*")
    if handler is None:
        # Not retried into oblivion: it fails, SQS redrives it to the DLQ, `lamina dlq replay` brings it back.
        raise PoisonMessageError(f"no handler for envelope type {envelope.type!r}")
    handler(envelope)


def queue_worker(queue: str, handlers: Mapping[str, EnvelopeHandler]) -> LambdaHandler:
    """A Lambda handler for `queue`: partial batch failures and idempotency by message id."""
    idempotency = RedisIdempotencyStore(namespace=queue)

    def handler(event: Mapping[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
        return process_sqs_batch(
            event, lambda record: route_envelope(handlers, record), idempotency=idempotency
        )

    return handler
