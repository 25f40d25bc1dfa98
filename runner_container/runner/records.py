"""Every event of a turn goes to the `records` queue, in batches, numbered by its sequence in the turn.

Batching keeps a chatty turn (a delta per step, a file event per changed file) to a few SQS messages; the
records worker stores each record once on (turn, sequence), so a batch sent twice is harmless.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

logger = logging.getLogger("runner.records")

RECORDS_BATCH_TYPE = "records.batch"
FLUSH_INTERVAL_S = 0.5
# SQS takes 256 KiB a message: stay well under it, envelope and all.
MAX_BATCH_BYTES = 200 * 1024
MAX_RECORD_BYTES = 64 * 1024


def _bounded(record: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(record, default=str))
    if size <= MAX_RECORD_BYTES:
        return record
    keep = {k: record[k] for k in ("type", "sequence", "timestamp") if k in record}
    return {**keep, "truncated": True, "bytes": size}


class RecordsSink:
    """Collects a turn's records and publishes them off the event loop, at least every FLUSH_INTERVAL_S."""

    def __init__(self, project_id: uuid.UUID, session_id: uuid.UUID, turn_id: uuid.UUID) -> None:
        self.project_id = project_id
        self.session_id = session_id
        self.turn_id = turn_id
        self._pending: list[dict[str, Any]] = []
        self._lock = asyncio.Lock()
        self._enabled = self._queue_configured()

    @staticmethod
    def _queue_configured() -> bool:
        from lamina.queues.names import Queue
        from lamina.settings import get_settings

        if get_settings().queue_url(Queue.RECORDS):
            return True
        logger.warning("RECORDS_QUEUE_URL is not set: this turn's records are not persisted")
        return False

    def add(self, record: dict[str, Any]) -> None:
        if self._enabled:
            self._pending.append(_bounded(record))

    async def flush(self) -> None:
        async with self._lock:
            records, self._pending = self._pending, []
            if records:
                await asyncio.to_thread(self._publish, records)

    def _publish(self, records: list[dict[str, Any]]) -> None:
        from lamina.queues.envelope import Envelope
        from lamina.queues.names import Queue
        from lamina.queues.publish import publish_many

        envelopes, batch, size = [], [], 0
        for record in records:
            record_size = len(json.dumps(record, default=str))
            if batch and size + record_size > MAX_BATCH_BYTES:
                envelopes.append(self._envelope(Envelope, batch))
                batch, size = [], 0
            batch.append(record)
            size += record_size
        if batch:
            envelopes.append(self._envelope(Envelope, batch))
        try:
            publish_many(Queue.RECORDS, envelopes)
        except Exception:
            # Records are the history, not the run: a queue outage must not fail the turn.
            logger.exception("could not publish %d records of turn %s", len(records), self.turn_id)

    def _envelope(self, envelope_type: Any, records: list[dict[str, Any]]) -> Any:
        payload = {
            "session_id": str(self.session_id),
            "turn_id": str(self.turn_id),
            "records": json.loads(json.dumps(records, default=str)),
        }
        return envelope_type(type=RECORDS_BATCH_TYPE, payload=payload, project_id=self.project_id)
