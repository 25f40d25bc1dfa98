"""The transactional inbox: an envelope's handler takes effect once per consuming queue.

SQS delivers at least once, and the outbox can send one envelope twice under two message ids (a cron flush
racing a request's own publish, a send whose delete failed). So idempotency is keyed on what is processed,
(queue, envelope id), never on the transport's message id, and it is kept in Postgres, not Redis: losing
Redis neither stops a worker nor lets an effect run twice. Powertools' idempotency semantics, step by step:

1. Claim, in its own committed transaction: insert an `in_progress` row holding a lease. A `completed` row
   means the envelope already took effect: the delivery is acknowledged without running. An `in_progress`
   row whose lease has not expired belongs to another consumer: this delivery fails (SQS retries it when
   that lease ends). An expired lease (its consumer crashed or timed out) is taken over, and so is a live
   lease whose consumer is gone: see below.
2. Run the handler in a unit of work and mark the row `completed` in that same transaction, so a database
   effect and its inbox record commit together or not at all. The completion is fenced by the claim's token:
   a consumer whose lease was taken over cannot commit its effect.

   That unit of work also holds a transaction-scoped advisory lock on (queue, envelope id) while the handler
   runs. Postgres drops it the moment the consumer's transaction ends, including when its process dies (a
   SIGKILLed `lamina up`, an OOM kill: the server sees the connection close). A claim attempt that finds a
   live lease without that lock knows its consumer is gone and takes the claim over at once, instead of
   waiting out a lease as long as the function's timeout. (A consumer between its claim's commit and its
   handler's first statement holds no lock yet: a duplicate delivery in that instant takes over, and the
   first consumer's completion is then refused by the fence, so a database effect still counts once.)
3. On failure the transaction rolls back and the claim is released, so the retry runs the handler again.

An effect outside the database (an HTTP call) gets the lease semantics only: one consumer at a time, recorded
after success. A crash between such an effect and the commit runs it again on redelivery, so such handlers
pass the envelope id on as the receiver's idempotency key.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, Index, Integer, String, Text, cast, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, mapped_column

from lamina.db.base import Base
from lamina.db.unit_of_work import unit_of_work
from lamina.ids import uuid7
from lamina.queues.envelope import Envelope
from lamina.queues.names import Queue

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

# A claim's lease when the caller cannot say how long it may run: Lambda's maximum timeout.
DEFAULT_LEASE_S = 15 * 60
MIN_LEASE_S = 1
LAST_ERROR_MAX_CHARS = 1000

EnvelopeHandler = Callable[[Envelope, "Session"], None]


class InboxStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class EnvelopeInProgressError(RuntimeError):
    """Another live consumer holds the envelope's claim: this delivery fails, to be retried when the claim's
    lease ends (`retry_after_s`), by which time that consumer has completed it or given it up."""

    def __init__(self, message: str, retry_after_s: float = MIN_LEASE_S) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class LeaseLostError(RuntimeError):
    """The claim expired and another consumer took it over: this consumer's effect must not commit."""


class InboxMessage(Base):
    """One envelope a queue's worker claimed or completed."""

    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_claimed_at", "claimed_at"),)

    queue: Mapped[str] = mapped_column(String(100), primary_key=True)
    envelope_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    # Identifies one claim: the completion and the release only apply while the claim is still this one.
    claim_token: Mapped[uuid.UUID] = mapped_column()
    lease_expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)


def process_once(
    queue: Queue, envelope: Envelope, handler: EnvelopeHandler, *, lease_s: float = DEFAULT_LEASE_S
) -> bool:
    """Run `handler(envelope, session)` unless `queue` already completed this envelope; True when it ran.

    Raises EnvelopeInProgressError while another consumer holds the claim, and re-raises the handler's error
    after releasing the claim.
    """
    token = claim(queue, envelope, lease_s=lease_s)
    if token is None:
        logger.info(
            "envelope already processed", extra={"queue": str(queue), "envelope_id": str(envelope.id)}
        )
        return False
    from lamina.queues.causation import handling

    try:
        with unit_of_work() as session, handling(envelope.depth):
            if not session.execute(select(_try_running_lock(str(queue), envelope.id))).scalar_one():
                # A consumer whose lease we took over is still running it: leave it to that one.
                raise EnvelopeInProgressError(
                    f"envelope {envelope.id} is still being processed by another {queue} consumer"
                )
            handler(envelope, session)
            complete(session, queue, envelope.id, token)
    except BaseException as error:
        release(queue, envelope.id, token, error)
        raise
    return True


def _try_running_lock(queue: Any, envelope_id: Any) -> Any:
    """The SQL that takes the advisory lock a consumer holds while its handler runs; false if another holds it.

    Keyed by a 64-bit hash of (queue, envelope id): a collision only makes one delivery wait for its retry.
    """
    return func.pg_try_advisory_xact_lock(
        func.hashtextextended(func.concat(queue, "/", cast(envelope_id, Text)), 0)
    )


def claim(queue: Queue, envelope: Envelope, *, lease_s: float = DEFAULT_LEASE_S) -> uuid.UUID | None:
    """Take the envelope's claim for `lease_s` seconds; its token, or None when it was completed before."""
    token = uuid7()
    now = func.now()
    lease_expires_at = now + timedelta(seconds=max(float(lease_s), MIN_LEASE_S))
    table = InboxMessage.__table__
    statement = (
        insert(InboxMessage)
        .values(
            queue=str(queue),
            envelope_id=envelope.id,
            type=envelope.type,
            status=InboxStatus.IN_PROGRESS.value,
            claim_token=token,
            lease_expires_at=lease_expires_at,
            attempts=1,
            claimed_at=now,
        )
        .on_conflict_do_update(
            index_elements=[table.c.queue, table.c.envelope_id],
            set_={
                "claim_token": token,
                "lease_expires_at": lease_expires_at,
                "attempts": table.c.attempts + 1,
                "claimed_at": now,
            },
            # Only an abandoned claim is taken over: never a completed envelope, never a lease whose consumer
            # is running the handler (it holds the advisory lock; a dead consumer's lock is already gone).
            where=(table.c.status == InboxStatus.IN_PROGRESS.value)
            & ((table.c.lease_expires_at <= now) | _try_running_lock(table.c.queue, table.c.envelope_id)),
        )
        .returning(table.c.claim_token)
    )
    with unit_of_work() as session:
        _without_waiting_for_the_disk(session)
        if session.execute(statement).scalar_one_or_none() == token:
            return token
        status, lease_left_s = session.execute(
            select(
                InboxMessage.status, func.extract("epoch", InboxMessage.lease_expires_at - func.now())
            ).where(InboxMessage.queue == str(queue), InboxMessage.envelope_id == envelope.id)
        ).one()
    if status == InboxStatus.COMPLETED.value:
        return None
    raise EnvelopeInProgressError(
        f"envelope {envelope.id} is being processed by another {queue} consumer",
        retry_after_s=max(float(lease_left_s or 0), MIN_LEASE_S),
    )


def complete(session: Session, queue: Queue, envelope_id: uuid.UUID, token: uuid.UUID) -> None:
    """Record the envelope as completed in the handler's own transaction (fenced by the claim's token)."""
    result = session.execute(
        update(InboxMessage)
        .where(
            InboxMessage.queue == str(queue),
            InboxMessage.envelope_id == envelope_id,
            InboxMessage.claim_token == token,
            InboxMessage.status == InboxStatus.IN_PROGRESS.value,
        )
        .values(status=InboxStatus.COMPLETED.value, completed_at=func.now(), last_error=None)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise LeaseLostError(f"the claim on envelope {envelope_id} expired and was taken over")


def release(queue: Queue, envelope_id: uuid.UUID, token: uuid.UUID, error: BaseException) -> None:
    """Give the claim up after a failure, so the retry runs the handler again; the lease covers a failure here."""
    try:
        with unit_of_work() as session:
            _without_waiting_for_the_disk(session)
            session.execute(
                update(InboxMessage)
                .where(
                    InboxMessage.queue == str(queue),
                    InboxMessage.envelope_id == envelope_id,
                    InboxMessage.claim_token == token,
                    InboxMessage.status == InboxStatus.IN_PROGRESS.value,
                )
                .values(
                    lease_expires_at=func.now(),
                    last_error=f"{type(error).__name__}: {error}"[:LAST_ERROR_MAX_CHARS],
                )
            )
    except Exception:
        logger.warning(
            "could not release an inbox claim; it expires with its lease",
            extra={"queue": str(queue), "envelope_id": str(envelope_id)},
            exc_info=True,
        )


def release_every_claim(database_url: str) -> int:
    """End the lease of every in-progress claim now; how many there were.

    Only for a database none of whose consumers can still be running: `lamina up` booting on its own embedded
    Postgres, which outlives a SIGKILLed supervisor while its workers died with it. A batch's claims (leases
    only, see below) are then retried at once rather than after their lease.
    """
    from sqlalchemy import create_engine

    from lamina.db.engine import sqlalchemy_url

    engine = create_engine(sqlalchemy_url(database_url))
    try:
        with engine.begin() as connection:
            result = connection.execute(
                update(InboxMessage)
                .where(
                    InboxMessage.status == InboxStatus.IN_PROGRESS.value,
                    InboxMessage.lease_expires_at > func.now(),
                )
                .values(lease_expires_at=func.now())
            )
    finally:
        engine.dispose()
    return int(getattr(result, "rowcount", 0))


def _without_waiting_for_the_disk(session: Session) -> None:
    """Commit this transaction without waiting for its WAL flush (a claim or a release, never a completion).

    A claim lost to a database crash only lets a later delivery claim again: a database effect is still fenced
    by the completion, which commits durably with it. It saves a disk flush on each of the two extra commits
    every message costs.
    """
    session.execute(text("SET LOCAL synchronous_commit = off"))


# ---------------------------------------------------------------- a whole batch at once
# The same protocol for the envelopes of one batch, in ONE transaction, for a worker whose handlers mostly wait
# on the network (webhooks): the claims, the handlers' effects and the completions commit together or not at
# all, so a batch costs one transaction and two statements, not three transactions per envelope.
#
# The claims are not committed before the handlers run, unlike `claim` + `process_once`; that transaction
# holds them instead, with each claimed envelope's running lock (the advisory lock of `process_once`):
# - a consumer that dies mid-batch loses its connection, so Postgres rolls its claims back and drops its locks:
#   a redelivery claims afresh at once, with nothing to release or take over;
# - a duplicate delivery in another consumer's batch meanwhile cannot take the running lock, so it skips that
#   envelope (held: that record fails alone, SQS retries it) without ever waiting on the uncommitted claim row,
#   which would stall that consumer's whole batch behind this one.
# The price is a transaction left open, idle, while the requests are out: one connection per worker.

_CLAIM_BATCH = """
WITH running AS MATERIALIZED (
    SELECT e.id, e.type, e.token
    FROM unnest(CAST(:ids AS uuid[]), CAST(:types AS text[]), CAST(:tokens AS uuid[])) AS e(id, type, token)
    WHERE pg_try_advisory_xact_lock(hashtextextended(concat(CAST(:queue AS text), '/', e.id::text), 0))
), claimed AS (
    INSERT INTO inbox (queue, envelope_id, type, status, claim_token, lease_expires_at, attempts, claimed_at)
    -- No lease: nobody sees this claim in progress (it commits completed, or rolls back), so it expires now.
    SELECT :queue, r.id, r.type, 'in_progress', r.token, now(), 1, now()
    FROM running AS r
    ON CONFLICT (queue, envelope_id) DO UPDATE
    SET claim_token = excluded.claim_token, lease_expires_at = excluded.lease_expires_at,
        attempts = inbox.attempts + 1, claimed_at = excluded.claimed_at
    -- Holding the running lock, an in-progress claim is abandoned whatever its lease says (see `claim`).
    WHERE inbox.status = 'in_progress'
    RETURNING envelope_id, claim_token
)
SELECT envelope_id, claim_token, CAST(NULL AS json) FROM claimed
UNION ALL SELECT id, NULL, NULL FROM running
"""
# The claim and a worker's own read in one round trip (the read's rows as JSON, after the claims' rows).
_CLAIM_BATCH_READING = (
    _CLAIM_BATCH + "UNION ALL SELECT NULL, NULL, row_to_json(extra) FROM ({read}) AS extra\n"
)
# The completion inside the worker's own writing statement (its parameters prefixed so they cannot clash).
_COMPLETE_BATCH_CTE = """
UPDATE inbox SET status = 'completed', completed_at = now(), last_error = NULL
FROM unnest(CAST(:inbox_ids AS uuid[]), CAST(:inbox_tokens AS uuid[])) AS c(id, token)
WHERE inbox.queue = :inbox_queue AND inbox.envelope_id = c.id AND inbox.claim_token = c.token
  AND inbox.status = 'in_progress'
RETURNING 1
"""


def uuid_array(values: Any) -> str:
    """A Postgres array literal of UUIDs: canonical UUID text needs no quoting, and pg8000 would escape each
    element character by character (a quarter of a batch's parameter encoding)."""
    return "{" + ",".join(str(value) for value in values) + "}"


def claim_batch(
    session: Session,
    queue: Queue,
    envelopes: list[Envelope],
    *,
    read: str | None = None,
    read_parameters: dict[str, Any] | None = None,
) -> tuple[dict[uuid.UUID, uuid.UUID], set[uuid.UUID], set[uuid.UUID], list[dict[str, Any]]]:
    """Claim a batch's envelopes in the caller's transaction, which then runs their handlers and completes
    them (`completion_cte`): (tokens of the claimed, ids already completed, ids another consumer is running,
    the rows of the worker's own `read`).

    `read` is a SELECT whose parameters do not clash with the claim's (queue, ids, types, tokens);
    its rows come back as JSON objects from the same statement, one round trip. It sees the database as of
    the statement's start, and is made whatever was claimed.
    """
    unique = {envelope.id: envelope for envelope in envelopes}
    if not unique:
        return {}, set(), set(), []
    tokens = {envelope_id: uuid7() for envelope_id in unique}
    statement = _CLAIM_BATCH if read is None else _CLAIM_BATCH_READING.replace("{read}", read)
    returned = session.execute(
        text(statement),
        {
            "queue": str(queue),
            "ids": uuid_array(unique),
            "types": [envelope.type for envelope in unique.values()],
            "tokens": uuid_array(tokens.values()),
            **(read_parameters or {}),
        },
    ).all()
    claimed: dict[uuid.UUID, uuid.UUID] = {}
    locked: set[uuid.UUID] = set()
    rows: list[dict[str, Any]] = []
    for envelope_id, token, row in returned:
        if envelope_id is None:
            rows.append(row)
        elif token is None:
            locked.add(uuid.UUID(str(envelope_id)))
        else:
            claimed[uuid.UUID(str(envelope_id))] = uuid.UUID(str(token))
    held = {envelope_id for envelope_id in unique if envelope_id not in locked}
    # Locked but not claimed: completed before (never a live claim: its consumer would hold the lock).
    completed = locked - claimed.keys()
    return claimed, completed, held, rows


def completion_cte(queue: Queue, claims: dict[uuid.UUID, uuid.UUID]) -> tuple[str, dict[str, Any]]:
    """The completion of a batch's `claims` as a data-modifying CTE body (`... RETURNING 1`) and its
    parameters, for a worker that writes its effects and completes its claims in one statement; pass the
    CTE's row count to `check_completed`."""
    return _COMPLETE_BATCH_CTE, {
        "inbox_queue": str(queue),
        "inbox_ids": uuid_array(claims),
        "inbox_tokens": uuid_array(claims.values()),
    }


def check_completed(claims: dict[uuid.UUID, uuid.UUID], completed: int) -> None:
    if completed != len(claims):
        raise LeaseLostError(f"{len(claims) - completed} claims of the batch were taken over")
