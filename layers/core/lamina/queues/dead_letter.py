"""Poison messages go straight to their queue's DLQ, with the reason, instead of maxReceiveCount x visibility.

A message that can never succeed (not an envelope, a type no handler takes, a payload off its contract) used
to fail its way to the DLQ: 5 receives x 240 s = 20 minutes, and a replay started the cycle again. The worker
now sends it to the DLQ itself, with `lamina_dead_letter_reason` as a message attribute, and reports the
record as processed. Failures that may pass (a database outage, a provider's 5xx) keep SQS's retries.

The DLQ is the one the queue's redrive policy names (the template declares it once), looked up once per
process; the worker needs sqs:GetQueueAttributes on its queue (part of Lambda's SQS execution role) and
sqs:SendMessage on its DLQ.
"""

from __future__ import annotations

import json
import logging
import math
from typing import TYPE_CHECKING, Any

from lamina.queues.envelope import PoisonMessageError
from lamina.queues.names import Queue

if TYPE_CHECKING:
    from lamina.queues.batch import SqsRecord

logger = logging.getLogger(__name__)

REASON_ATTRIBUTE = "lamina_dead_letter_reason"
SOURCE_ATTRIBUTE = "lamina_source_queue"
# SQS message attributes: at most 10 per message; keep the reason readable, not a whole traceback.
REASON_MAX_CHARS = 1000
MAX_MESSAGE_ATTRIBUTES = 10


def is_poison(error: BaseException) -> bool:
    """Whether retrying can never help: the message itself is wrong, not the world around it."""
    from lamina.events.catalog import EventContractError

    return isinstance(error, PoisonMessageError | EventContractError)


def dead_letter_queue_url(queue: Queue) -> str:
    """The URL of `queue`'s DLQ, from its redrive policy (memoised for the process)."""
    from lamina.state import current

    state = current()

    def lookup() -> str:
        sqs = state.aws_client("sqs")
        queue_url = state.settings.queue_url(queue)
        if not queue_url:
            raise PoisonMessageError(f"{Queue(queue).url_variable} is not set: cannot find {queue}'s DLQ")
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])
        policy = json.loads(attributes.get("Attributes", {}).get("RedrivePolicy") or "{}")
        arn = str(policy.get("deadLetterTargetArn") or "")
        if not arn:
            raise RuntimeError(f"queue {queue} has no redrive policy, hence no DLQ")
        _, _, _, _, account, name = arn.split(":", 5)
        url: str = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        return url

    return state.memo(f"lamina.queues.dlq_url.{queue}", lookup)


def send_to_dead_letter_queue(queue: Queue, record: SqsRecord, reason: str) -> None:
    """Copy the record (body and attributes) to the DLQ with the reason; raises if SQS refuses it."""
    from lamina.state import current

    # The Lambda event spells attributes `dataType` / `stringValue`; SendMessage wants `DataType` / ...
    kept = [
        (name, attribute)
        for name, attribute in record.message_attributes.items()
        if isinstance(attribute, dict) and attribute.get("stringValue") is not None
    ][: MAX_MESSAGE_ATTRIBUTES - 2]
    attributes: dict[str, Any] = {
        name: {"DataType": attribute.get("dataType", "String"), "StringValue": attribute["stringValue"]}
        for name, attribute in kept
    }
    attributes[REASON_ATTRIBUTE] = {
        "DataType": "String",
        "StringValue": reason[:REASON_MAX_CHARS] or "poison",
    }
    attributes[SOURCE_ATTRIBUTE] = {"DataType": "String", "StringValue": str(queue)}
    current().aws_client("sqs").send_message(
        QueueUrl=dead_letter_queue_url(queue), MessageBody=record.body or " ", MessageAttributes=attributes
    )
    logger.warning(
        "poison message sent to the DLQ",
        extra={"queue": str(queue), "message_id": record.message_id, "reason": reason[:REASON_MAX_CHARS]},
    )


# A record that failed because a dependency was down comes back after this backoff, not the queue's whole
# visibility timeout (240 s and more): once Postgres is back, its work is done within seconds.
OUTAGE_RETRY_FIRST_S = 2
OUTAGE_RETRY_MAX_S = 60
MAX_VISIBILITY_S = 12 * 60 * 60  # SQS's limit


def retry_sooner_after_an_outage(queue: Queue, record: SqsRecord, error: BaseException) -> None:
    """When `error` is a dependency's outage, make the record visible again after a short backoff."""
    from lamina.db.failures import classify_dependency_failure

    if classify_dependency_failure(error) is None:
        return
    retry_after(
        queue, record, min(OUTAGE_RETRY_MAX_S, OUTAGE_RETRY_FIRST_S * 2 ** max(0, record.receive_count - 1))
    )


def retry_after(queue: Queue, record: SqsRecord, delay_s: float) -> None:
    """Make a failed record visible again in `delay_s` seconds instead of the queue's visibility timeout."""
    if not record.receipt_handle:
        return
    from lamina.state import current

    state = current()
    try:
        state.aws_client("sqs").change_message_visibility(
            QueueUrl=state.settings.queue_url(queue),
            ReceiptHandle=record.receipt_handle,
            VisibilityTimeout=max(0, min(MAX_VISIBILITY_S, math.ceil(delay_s))),
        )
    except Exception as change_error:  # the visibility timeout still brings it back
        logger.info("could not shorten a failed record's visibility", extra={"error": repr(change_error)})
