"""The webhooks worker: each batch's deliveries sent concurrently, each handled once through the inbox.

Concurrency inside a batch: a delivery spends nearly all of its time waiting on the receiver, so the requests
of a batch go out concurrently on the process's sending loop, through one pooled, SSRF-guarded session kept
alive between invocations (`lamina.webhooks.sender`), and the database work is done for the whole batch at
once, in one transaction of two statements (`lamina.queues.inbox`, "a whole batch at once"): the first claims
the batch and reads its subscriptions (secrets decrypted once per container); the requests go out; the second
writes every attempt's log row, closes the breakers of the receivers that answered and completes every claim
(plus any follow-ups staged). While the requests are out, that transaction holds the claims and their running
locks and nothing else: a SIGKILLed worker's claims vanish with its connection.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from lamina.queues.batch import BatchProcessingError, SqsRecord
from lamina.queues.envelope import Envelope, PoisonMessageError
from lamina.queues.names import Queue
from lamina.queues.worker import lease_for

logger = logging.getLogger(__name__)

# What a batch keeps of its invocation's time for writing its log and completions after the last request.
BATCH_RECORDING_RESERVE_S = 5.0


def _subscription_ids(envelopes: list[Envelope]) -> set[uuid.UUID]:
    ids: set[uuid.UUID] = set()
    for envelope in envelopes:
        try:
            ids.add(uuid.UUID(str(envelope.payload["subscription_id"])))
        except (KeyError, ValueError):
            continue  # its command fails validation when it runs
    return ids


def handler(event: Mapping[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    """Deliver a batch: claim all (one statement), send concurrently, record all and complete (one commit).

    The inbox protocol of `process_once`, a batch at a time: an envelope another consumer holds, or a poison
    message, fails alone; an envelope already completed is acknowledged without running. If anything fails,
    the transaction rolls back with its claims and the batch's deliveries fail together (SQS retries them; the
    receivers' idempotency keys absorb a repeated request).
    """
    from lamina.db.unit_of_work import unit_of_work
    from lamina.queues.inbox import claim_batch, uuid_array
    from lamina.webhooks import sender
    from lamina.webhooks.delivery import (
        DELIVERY_COMMAND,
        TARGETS_READ,
        DeliveryCommand,
        admissions,
        record,
        record_breaker,
        targets_from,
        write_log,
    )

    must_end_by = time.monotonic() + lease_for(context) - BATCH_RECORDING_RESERVE_S
    records = [SqsRecord.from_event_record(raw) for raw in event.get("Records", [])]
    failed: list[str] = []
    by_message: dict[str, Envelope] = {}
    for item in records:
        try:
            envelope = item.envelope()
            if envelope.type != DELIVERY_COMMAND:
                raise PoisonMessageError(f"no handler for envelope type {envelope.type!r}")
            DeliveryCommand.model_validate(envelope.payload)
            by_message[item.message_id] = envelope
        except (PoisonMessageError, ValidationError) as error:
            logger.warning("poison message", extra={"message_id": item.message_id, "error": str(error)})
            failed.append(item.message_id)
    try:
        with unit_of_work() as session:
            claims, _, held, rows = claim_batch(
                session,
                Queue.WEBHOOKS,
                list(by_message.values()),
                read=TARGETS_READ,
                read_parameters={
                    "subscription_ids": uuid_array(_subscription_ids(list(by_message.values())))
                },
            )
            targets = targets_from(rows)
            failed += [message_id for message_id, envelope in by_message.items() if envelope.id in held]
            to_run = {envelope.id: envelope for envelope in by_message.values() if envelope.id in claims}
            answers = admissions(list(to_run.values()), targets)
            deliveries = [
                (
                    envelope,
                    targets.get(uuid.UUID(str(envelope.payload.get("subscription_id")))),
                    answers.get(envelope.id),
                )
                for envelope in to_run.values()
            ]
            performed = sender.deliver_batch(deliveries, must_end_by=must_end_by)
            steps = [
                (envelope, target, step)
                for (envelope, target, _), step in zip(deliveries, performed, strict=True)
            ]
            alive = record_breaker(session, [(target, step) for _, target, step in steps])
            log: list[dict[str, Any]] = []
            for envelope, target, step in steps:
                record(session, envelope, target, step, log)
            # Nothing follows from a batch that all succeeded but its log rows and completions: a database
            # crash losing them (its last few hundred ms) only loses log rows, so skip the disk flush.
            durable = not all(step.outcome is not None and step.outcome.succeeded for _, _, step in steps)
            if to_run:
                write_log(session, log, alive=alive, claims=claims, durable=durable)
    except Exception as error:
        # Rolled back: the claims with it, so SQS's retry claims afresh (the receivers' idempotency keys absorb
        # a request repeated from this batch).
        logger.warning("webhook batch failed", extra={"error": repr(error)}, exc_info=True)
        failed += [message_id for message_id in by_message if message_id not in failed]
    if records and len(failed) == len(records):
        raise BatchProcessingError(f"all {len(records)} records failed")
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
