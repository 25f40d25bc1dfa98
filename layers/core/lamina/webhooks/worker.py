"""The webhooks worker: each batch's deliveries sent concurrently, each handled once through the inbox.

Concurrency inside a batch: a delivery spends nearly all of its time waiting on the receiver, so the records
of a batch run on WEBHOOK_BATCH_CONCURRENCY threads sharing one pooled, SSRF-guarded HTTP client. The
subscriptions (and their decrypted secrets) are read once per batch, before any request is sent; a handler's
database session is first used after its request, so no connection is held while a receiver is slow.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lamina.queues.batch import SqsRecord, process_sqs_batch
from lamina.queues.envelope import Envelope, PoisonMessageError
from lamina.queues.inbox import process_once
from lamina.queues.names import Queue
from lamina.queues.worker import lease_for

if TYPE_CHECKING:
    import httpx
    from sqlalchemy.orm import Session

    from lamina.webhooks.delivery import Target

WEBHOOK_BATCH_CONCURRENCY = 10


def webhook_client() -> httpx.Client:
    """The process's client for deliveries: guarded, pinned, pooled, bounded by `webhook_timeout_s`."""
    from lamina.state import current

    def build() -> httpx.Client:
        import httpx

        from lamina.outbound import outbound_client

        seconds = current().settings.webhook_timeout_s
        return outbound_client(
            timeout=httpx.Timeout(seconds, pool=seconds),
            max_connections=WEBHOOK_BATCH_CONCURRENCY * 2,
        )

    client: httpx.Client = current().memo("webhooks:client", build)
    return client


def _subscription_ids(records: list[SqsRecord]) -> set[uuid.UUID]:
    from lamina.webhooks.delivery import DELIVERY_COMMAND

    ids: set[uuid.UUID] = set()
    for record in records:
        try:
            envelope = record.envelope()
            if envelope.type == DELIVERY_COMMAND:
                ids.add(uuid.UUID(str(envelope.payload["subscription_id"])))
        except (PoisonMessageError, KeyError, ValueError):
            continue  # reported by its own record's handler
    return ids


def handler(event: Mapping[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    from lamina.db.unit_of_work import unit_of_work
    from lamina.webhooks.delivery import DELIVERY_COMMAND, deliver, targets_for

    records = [SqsRecord.from_event_record(raw) for raw in event.get("Records", [])]
    with unit_of_work() as session:
        targets = targets_for(session, _subscription_ids(records))
    client = webhook_client()
    lease = lease_for(context)

    def handle(envelope: Envelope, session: Session) -> None:
        target: Target | None = targets.get(uuid.UUID(str(envelope.payload.get("subscription_id"))))
        deliver(envelope, session, target, client)

    def record_handler(record: SqsRecord) -> None:
        envelope = record.envelope()
        if envelope.type != DELIVERY_COMMAND:
            raise PoisonMessageError(f"no handler for envelope type {envelope.type!r}")
        process_once(Queue.WEBHOOKS, envelope, handle, lease_s=lease)

    return process_sqs_batch(event, record_handler, max_workers=WEBHOOK_BATCH_CONCURRENCY)
