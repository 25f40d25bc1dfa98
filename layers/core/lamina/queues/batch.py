"""Processing an SQS event batch: one record handler per record, partial failures, idempotency by message id.

Shaped after Powertools' `process_partial_response`: the worker's handler is one call, the processor owns
`batchItemFailures`, the record handler owns one record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from lamina.queues.envelope import Envelope

logger = logging.getLogger(__name__)

# How long a message id is remembered as processed: well past SQS's maximum visibility timeout (12 h).
PROCESSED_TTL_S = 24 * 3600
# How long one consumer holds a message id while processing it; a crashed consumer's claim expires.
IN_PROGRESS_TTL_S = 15 * 60


class BatchProcessingError(RuntimeError):
    """Every record of the batch failed: the whole batch goes back to the queue."""


class IdempotencyStore(Protocol):
    def claim(self, key: str) -> str | None:
        """Claim `key` for processing; return None when claimed, else "done" or "in_progress"."""

    def complete(self, key: str) -> None: ...

    def release(self, key: str) -> None: ...


class RedisIdempotencyStore:
    """Processed-message memory in Redis, shared by every container of every worker."""

    def __init__(self, namespace: str, redis: Any | None = None) -> None:
        self._namespace = namespace
        self._redis = redis

    def _client(self) -> Any:
        if self._redis is None:
            from lamina.cache import get_redis

            self._redis = get_redis()
        return self._redis

    def _key(self, key: str) -> str:
        return f"lamina:processed:{self._namespace}:{key}"

    def claim(self, key: str) -> str | None:
        redis = self._client()
        if redis.set(self._key(key), b"in_progress", nx=True, ex=IN_PROGRESS_TTL_S):
            return None
        state = redis.get(self._key(key))
        if state is None:  # expired between the two calls: try once more
            return (
                None
                if redis.set(self._key(key), b"in_progress", nx=True, ex=IN_PROGRESS_TTL_S)
                else "in_progress"
            )
        return str(state.decode() if isinstance(state, bytes) else state)

    def complete(self, key: str) -> None:
        self._client().set(self._key(key), b"done", ex=PROCESSED_TTL_S)

    def release(self, key: str) -> None:
        self._client().delete(self._key(key))


@dataclass(frozen=True)
class SqsRecord:
    """One record of an SQS Lambda event."""

    message_id: str
    body: str
    receive_count: int
    event_source_arn: str
    attributes: Mapping[str, str]
    message_attributes: Mapping[str, Any]

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
        )

    @property
    def queue_name(self) -> str:
        return self.event_source_arn.rsplit(":", 1)[-1]

    def envelope(self) -> Envelope:
        """The Lamina envelope in the body; PoisonMessageError when there is none."""
        return Envelope.from_body(self.body)


RecordHandler = Callable[[SqsRecord], None]


class _InProgressElsewhereError(RuntimeError):
    pass


def process_sqs_batch(
    event: Mapping[str, Any],
    record_handler: RecordHandler,
    *,
    idempotency: IdempotencyStore | None = None,
) -> dict[str, list[dict[str, str]]]:
    """Run `record_handler` on each record; return the `batchItemFailures` response SQS expects.

    A record that raises is reported as failed and retried by SQS (then redriven to its DLQ); the others are
    deleted. With an idempotency store, a message id already processed is acknowledged without running again.
    """
    records = [SqsRecord.from_event_record(raw) for raw in event.get("Records", [])]
    failures: list[dict[str, str]] = []
    for record in records:
        try:
            _process_one(record, record_handler, idempotency)
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


def _process_one(
    record: SqsRecord, record_handler: RecordHandler, idempotency: IdempotencyStore | None
) -> None:
    if idempotency is None:
        record_handler(record)
        return
    state = idempotency.claim(record.message_id)
    if state == "done":
        return
    if state == "in_progress":
        raise _InProgressElsewhereError(f"message {record.message_id} is being processed by another consumer")
    try:
        record_handler(record)
    except BaseException:
        idempotency.release(record.message_id)
        raise
    idempotency.complete(record.message_id)
