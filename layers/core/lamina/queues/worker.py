"""The shape every SQS worker shares: envelopes routed by `type` to the handlers its domain registers.

A domain's worker is one line, `handler = queue_worker(Queue.WEBHOOKS, {EventType.X: deliver, ...})`, and a
handler is `def deliver(envelope: Envelope, session: Session) -> None`. It runs to completion at most once
per envelope and queue, inside a unit of work whose commit also records it as done (`lamina.queues.inbox`):
write database effects through `session`; stage follow-up events with `stage_event(session, ...)`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lamina.queues.batch import SqsRecord, process_sqs_batch
from lamina.queues.dead_letter import (
    is_poison,
    retry_after,
    retry_sooner_after_an_outage,
    send_to_dead_letter_queue,
)
from lamina.queues.envelope import PoisonMessageError
from lamina.queues.inbox import DEFAULT_LEASE_S, EnvelopeHandler, EnvelopeInProgressError, process_once
from lamina.queues.names import Queue

LambdaHandler = Callable[[Mapping[str, Any], Any], dict[str, list[dict[str, str]]]]
MS_PER_S = 1000


def handler_for(handlers: Mapping[str, EnvelopeHandler], envelope_type: str) -> EnvelopeHandler:
    """The handler for `envelope_type`: the exact type, else its nearest `prefix.*`, else `*`."""
    handler = handlers.get(envelope_type)
    prefix = envelope_type
    while handler is None and "." in prefix:
        prefix = prefix.rsplit(".", 1)[0]
        handler = handlers.get(f"{prefix}.*")
    if handler is None:
        handler = handlers.get("*")
    if handler is None:
        # Never retried: the worker sends it to the DLQ at once (`dead_letter`); `lamina dlq replay` brings it back.
        raise PoisonMessageError(f"no handler for envelope type {envelope_type!r}")
    return handler


def lease_for(context: Any) -> float:
    """How long a claim may be held: what the invocation has left to live (Powertools' in-progress expiry)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return DEFAULT_LEASE_S
    return max(0.0, float(remaining()) / MS_PER_S)


def queue_worker(queue: Queue, handlers: Mapping[str, EnvelopeHandler]) -> LambdaHandler:
    """A Lambda handler for `queue`: partial batch failures, each envelope handled once (the inbox)."""
    queue = Queue(queue)

    def record_handler(record: SqsRecord, context: Any) -> None:
        try:
            envelope = record.envelope()
            handle = handler_for(handlers, envelope.type)
            process_once(queue, envelope, handle, lease_s=lease_for(context))
        except EnvelopeInProgressError as error:
            # A live consumer has it: look again when its lease ends, not after the whole visibility timeout.
            retry_after(queue, record, error.retry_after_s)
            raise
        except Exception as error:
            if not is_poison(error):
                retry_sooner_after_an_outage(queue, record, error)
                raise  # may pass on a retry: SQS redelivers it (sooner when a dependency was down)
            # Never succeeds: straight to the DLQ with the reason; the record counts as processed.
            send_to_dead_letter_queue(queue, record, f"{type(error).__name__}: {error}")

    def handler(event: Mapping[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
        return process_sqs_batch(event, lambda record: record_handler(record, context))

    return handler
