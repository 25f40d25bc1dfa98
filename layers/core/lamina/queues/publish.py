"""Publishing envelopes to the stack's queues."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from lamina import aws
from lamina.queues.envelope import Envelope
from lamina.queues.names import Queue
from lamina.settings import get_settings

SQS_MAX_BATCH = 10
SQS_MAX_DELAY_S = 900


class QueueNotConfiguredError(RuntimeError):
    pass


class PublishError(RuntimeError):
    pass


def _queue_url(queue: Queue) -> str:
    url = get_settings().queue_url(queue)
    if not url:
        raise QueueNotConfiguredError(f"{Queue(queue).url_variable} is not set")
    return url


def publish(
    queue: Queue,
    type: str,
    payload: dict[str, Any] | None = None,
    *,
    project_id: uuid.UUID | None = None,
    delay_s: int = 0,
) -> Envelope:
    """Send one envelope to `queue` and return it.

    Only outside a transaction: inside one (a request, a worker's handler) stage the command with
    `lamina.events.outbox.stage_message`, and a domain event with `stage_event`, so that it is sent only if
    the transaction commits, and once.
    """
    envelope = Envelope(type=type, payload=payload or {}, project_id=project_id)
    publish_many(queue, [envelope], delay_s=delay_s)
    return envelope


def publish_many(queue: Queue, envelopes: Iterable[Envelope], *, delay_s: int = 0) -> None:
    """Send envelopes in SQS batches of ten; raise PublishError naming any that SQS refused."""
    url = _queue_url(queue)
    delay_s = max(0, min(delay_s, SQS_MAX_DELAY_S))
    pending = list(envelopes)
    for start in range(0, len(pending), SQS_MAX_BATCH):
        _send_batch(url, pending[start : start + SQS_MAX_BATCH], delay_s)


def _send_batch(url: str, batch: Sequence[Envelope], delay_s: int) -> None:
    entries = [
        {
            "Id": str(index),
            "MessageBody": envelope.to_body(),
            "DelaySeconds": delay_s,
            "MessageAttributes": {"type": {"DataType": "String", "StringValue": envelope.type}},
        }
        for index, envelope in enumerate(batch)
    ]
    response = aws.client("sqs").send_message_batch(QueueUrl=url, Entries=entries)
    failed = response.get("Failed") or []
    if failed:
        ids = ", ".join(str(batch[int(item["Id"])].id) for item in failed)
        raise PublishError(f"SQS refused {len(failed)} of {len(batch)} messages: {ids}")
