"""The transactional outbox: envelopes are written in the same transaction as the change they come from.

Why: an event published before the commit could announce a change that then rolls back; one published after
the commit is lost if SQS is unreachable at that moment. So a change and its outbox rows commit together; right
after the commit the rows are sent to their queue and deleted; whatever could not be sent stays in the table
and the cron's `flush_outbox` task sends it later. Delivery is at-least-once (the flush may send an envelope a
request also sent): the envelope id is the row id, and every worker's inbox handles it once.

Every domain event goes through here (`stage_event`): there is no way to publish one beside its transaction.
A worker's handler stages the commands it derives (`stage_message(session, Queue.WEBHOOKS, ...)`) the same
way: they commit with its inbox record, so a handler run twice cannot enqueue twice.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lamina.db.base import Base, utcnow
from lamina.events.catalog import EventPayload, EventType, validated_payload
from lamina.ids import uuid7
from lamina.queues.names import Queue

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

# Rows younger than this belong to a request that is still publishing them itself.
FLUSH_GRACE = timedelta(seconds=30)
FLUSH_BATCH = 500
LAST_ERROR_MAX_CHARS = 1000


class OutboxEvent(Base):
    __tablename__ = "event_outbox"
    __table_args__ = (Index("ix_event_outbox_occurred_at", "occurred_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    queue: Mapped[str] = mapped_column(
        String(100), default=Queue.EVENTS.value, server_default=Queue.EVENTS.value
    )
    project_id: Mapped[uuid.UUID | None] = mapped_column()
    type: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # SQS DelaySeconds for the message (a webhook retry's backoff); 0 for everything else.
    delay_s: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The envelope's causation depth (see `Envelope.depth`).
    causation_depth: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)


def stage_event(
    session: Session,
    type: EventType | str,
    payload: Mapping[str, Any] | EventPayload,
    *,
    project_id: uuid.UUID | None,
) -> uuid.UUID:
    """Record an event in the caller's transaction; it is published once that transaction commits.

    `type` must be declared in `lamina.events.catalog` and `payload` match its model (a dict, or the model
    itself): EventContractError otherwise. Returns the envelope id.
    """
    return stage_message(
        session, Queue.EVENTS, str(type), validated_payload(type, payload), project_id=project_id
    )


def stage_message(
    session: Session,
    queue: Queue,
    type: str,
    payload: Mapping[str, Any],
    *,
    project_id: uuid.UUID | None,
    delay_s: int = 0,
    depth: int | None = None,
) -> uuid.UUID:
    """Record an envelope for `queue` in the caller's transaction; it is sent once that transaction commits.

    For commands to a worker (domain events use `stage_event`, which checks them against the catalog).
    `delay_s` (at most SQS's 900) delays its delivery. `depth` is its causation depth; by default that of
    the envelope being handled (`lamina.queues.causation`). Returns the envelope id.
    """
    from lamina.db.unit_of_work import after_commit
    from lamina.queues.causation import current_depth

    row = OutboxEvent(
        id=uuid7(),
        queue=Queue(queue).value,
        project_id=project_id,
        type=type,
        payload=dict(payload),
        occurred_at=utcnow(),
        delay_s=delay_s,
        causation_depth=current_depth() if depth is None else depth,
    )
    session.add(row)
    staged: list[uuid.UUID] | None = session.info.get("lamina_outbox")
    if staged is None:
        staged = session.info["lamina_outbox"] = []
        after_commit(session, lambda: _publish_staged(session))
    staged.append(row.id)
    return row.id


def _publish_staged(session: Session) -> None:
    publish_outbox_events(session.info.pop("lamina_outbox", []))


def publish_outbox_events(ids: list[uuid.UUID] | None = None, *, limit: int = FLUSH_BATCH) -> int:
    """Send outbox rows (the given ones, or every row past the grace period) and delete the sent ones."""
    from sqlalchemy import delete, select

    from lamina.db.unit_of_work import unit_of_work

    if ids is not None and not ids:
        return 0
    with unit_of_work() as session:
        query = (
            select(OutboxEvent)
            .order_by(OutboxEvent.occurred_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if ids is not None:
            query = query.where(OutboxEvent.id.in_(ids))
        else:
            query = query.where(OutboxEvent.occurred_at < utcnow() - FLUSH_GRACE)
        rows = list(session.execute(query).scalars())
        if not rows:
            return 0
        by_queue: dict[tuple[str, int], list[OutboxEvent]] = {}
        for row in rows:
            by_queue.setdefault((row.queue, row.delay_s or 0), []).append(row)
        sent: list[uuid.UUID] = []
        for (queue, delay_s), queued in by_queue.items():
            if _send(queue, queued, delay_s):
                sent += [row.id for row in queued]
        if sent:
            session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(sent)))
        return len(sent)


def _send(queue: str, rows: list[OutboxEvent], delay_s: int = 0) -> bool:
    """Publish one queue's rows; on failure note it on them (they stay for the cron) and return False."""
    from lamina.queues.envelope import Envelope
    from lamina.queues.publish import publish_many

    envelopes = [
        Envelope(
            id=row.id,
            type=row.type,
            payload=row.payload,
            project_id=row.project_id,
            occurred_at=row.occurred_at,
            depth=row.causation_depth or 0,
        )
        for row in rows
    ]
    try:
        publish_many(Queue(queue), envelopes, delay_s=delay_s)
    except Exception as error:
        # Left in the outbox for the cron; the change itself is committed and stays.
        for row in rows:
            row.attempts += 1
            row.last_error = f"{type(error).__name__}: {error}"[:LAST_ERROR_MAX_CHARS]
        logger.warning(
            "envelopes left in the outbox", extra={"queue": queue, "count": len(rows), "error": repr(error)}
        )
        return False
    return True


def flush_outbox() -> dict[str, Any]:
    """The cron task: publish every envelope a request or worker could not publish itself."""
    total = 0
    while True:
        sent = publish_outbox_events(None)
        total += sent
        if sent < FLUSH_BATCH:
            return {"events_published": total}
