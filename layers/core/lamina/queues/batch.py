"""Processing an SQS event batch: one record handler per record, partial batch failures.

Shaped after Powertools' `process_partial_response`: the worker's handler is one call, the processor owns
`batchItemFailures`, the record handler owns one record. Idempotency is not the transport's business: it is
keyed on the envelope (see `lamina.queues.inbox`), never on the SQS message id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lamina.queues.envelope import Envelope

logger = logging.getLogger(__name__)


class BatchProcessingError(RuntimeError):
    """Every record of the batch failed: the whole batch goes back to the queue."""


@dataclass(frozen=True)
class SqsRecord:
    """One record of an SQS Lambda event."""

    message_id: str
    body: str
    receive_count: int
    event_source_arn: str
    attributes: Mapping[str, str]
    message_attributes: Mapping[str, Any]
    receipt_handle: str = ""

    @classmethod
    def from_event_record(cls, record: Mapping[str, Any]) -> SqsRecord:
        attributes = record.get("attributes") or {}
        return cls(
            message_id=record["messageId"],
            body=record.get("body") or "",
            receive_count=int(attributes.get("ApproximateReceiveCount", "1")),
            event_source_arn=record.get("eventSourceARN", ""),
            attributes=attributes,
            message_attributes=record.get("messageAttributes") or {},
            receipt_handle=record.get("receiptHandle", ""),
        )

    @property
    def queue_name(self) -> str:
        return self.event_source_arn.rsplit(":", 1)[-1]

    def envelope(self) -> Envelope:
        """The Lamina envelope in the body; PoisonMessageError when there is none."""
        return Envelope.from_body(self.body)


RecordHandler = Callable[[SqsRecord], None]


def process_sqs_batch(
    event: Mapping[str, Any], record_handler: RecordHandler
) -> dict[str, list[dict[str, str]]]:
    """Run `record_handler` on each record; return the `batchItemFailures` response SQS expects.

    A record that raises is reported as failed and retried by SQS (then redriven to its DLQ after the queue's
    maxReceiveCount), without holding back the rest of its batch, which SQS deletes. Raises
    BatchProcessingError only when every record failed.
    """
    records = [SqsRecord.from_event_record(raw) for raw in event.get("Records", [])]
    failures: list[dict[str, str]] = []
    for record in records:
        try:
            record_handler(record)
        except Exception as error:
            logger.warning(
                "record failed",
                extra={
                    "message_id": record.message_id,
                    "receive_count": record.receive_count,
                    "error": repr(error),
                },
            )
            logger.debug("record failure detail", exc_info=True)
            failures.append({"itemIdentifier": record.message_id})
    if records and len(failures) == len(records):
        raise BatchProcessingError(f"all {len(records)} records failed")
    return {"batchItemFailures": failures}
