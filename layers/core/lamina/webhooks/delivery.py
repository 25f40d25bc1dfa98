"""Delivering one event to one subscription: sign, send through the SSRF guard, log, retry or dead-letter.

Each attempt is one `webhooks.delivery.attempt` command on the `webhooks` queue, handled once (the inbox). A
failed attempt stages the next one in the same transaction as its log row, delayed by exponential backoff
with jitter through SQS's DelaySeconds; SQS caps that at 900 s, so a longer wait is chained: the command
carries `not_before` and a copy that arrives early is re-staged for the time left. After
WEBHOOK_MAX_ATTEMPTS (over more than 24 hours) the command goes to the queue's DLQ, from which
`lamina dlq replay webhooks` restarts it. A receiver sees the same `Idempotency-Key` (the delivery id,
deterministic per event x subscription) on every attempt and replay, so it can act once.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from lamina.db.base import utcnow
from lamina.webhooks import breaker, signing

if TYPE_CHECKING:
    import aiohttp
    from sqlalchemy.orm import Session

    from lamina.queues.envelope import Envelope
    from lamina.webhooks.models import WebhookDeliveryAttempt

logger = logging.getLogger(__name__)

DELIVERY_COMMAND = "webhooks.delivery.attempt"
# Delay before retry n (after attempt n failed); the sum, about 27.7 h, keeps a delivery alive beyond 24 h.
WEBHOOK_RETRY_DELAYS_S = (10, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200)
WEBHOOK_MAX_ATTEMPTS = len(WEBHOOK_RETRY_DELAYS_S) + 1
# Jitter only lengthens a delay (up to +25%): receivers recovering from an outage are not hit in lockstep,
# and the schedule never falls short of its 24 hours.
WEBHOOK_RETRY_JITTER = 0.25
SQS_MAX_DELAY_S = 900
# An early copy with less than this left waits it out in the handler instead of another trip through SQS.
EARLY_WAIT_MAX_S = 1.0
RESPONSE_BODY_MAX_CHARS = 1000
ERROR_MAX_CHARS = 1000
USER_AGENT = "Lamina-Webhooks/1"
# Decrypted signing secrets kept per container (each one KMS call to fill).
SECRET_CACHE_MAX = 1000


class DeliveryCommand(BaseModel):
    """The payload of a `webhooks.delivery.attempt` envelope: everything needed to send without a lookup."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    subscription_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    event_occurred_at: datetime
    event_payload: dict[str, Any]
    attempt: int = 1
    not_before: datetime | None = None


@dataclass(frozen=True)
class Target:
    """A subscription as a delivery needs it, loaded once per batch (its secret decrypted, cached)."""

    id: uuid.UUID
    project_id: uuid.UUID
    url: str
    headers: dict[str, str]
    is_active: bool
    secret: str
    breaker_state: str


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    latency_ms: int | None
    error: str | None
    response_body: str | None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def retry_delay_s(attempt: int, *, scale: float) -> float:
    """How long to wait after failed attempt `attempt` (1-based) before the next one."""
    base = WEBHOOK_RETRY_DELAYS_S[min(attempt, len(WEBHOOK_RETRY_DELAYS_S)) - 1]
    return base * (1 + random.random() * WEBHOOK_RETRY_JITTER) * scale


def event_body(command: DeliveryCommand, project_id: uuid.UUID) -> bytes:
    """The request body: the event as `GET /api/events/types` documents it, the same bytes on every attempt."""
    document = {
        "id": str(command.event_id),
        "type": command.event_type,
        "occurred_at": command.event_occurred_at.isoformat(),
        "project_id": str(project_id),
        "data": command.event_payload,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def request_headers(target: Target, command: DeliveryCommand, body: bytes) -> dict[str, str]:
    delivery = str(signing.delivery_id(command.event_id, target.id))
    system = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        signing.SIGNATURE_HEADER: signing.sign(target.secret, body),
        signing.EVENT_ID_HEADER: str(command.event_id),
        signing.EVENT_TYPE_HEADER: command.event_type,
        signing.DELIVERY_ID_HEADER: delivery,
        signing.ATTEMPT_HEADER: str(command.attempt),
        signing.IDEMPOTENCY_KEY_HEADER: delivery,
    }
    from lamina.webhooks.schemas import is_system_header

    # Refused at write time already; dropped here too, so no stored row can override a system header.
    custom = {name: value for name, value in target.headers.items() if not is_system_header(name)}
    return {**custom, **system}


async def send(
    session: aiohttp.ClientSession, target: Target, command: DeliveryCommand, *, deadline_s: float
) -> Outcome:
    """POST the event once, within `deadline_s` in all (connect, send and the whole answer: a receiver
    dripping its answer a byte at a time cannot hold a delivery longer); never raises for what the receiver
    or the network did. Through `lamina.outbound_async`'s guarded session; a redirect is never followed."""
    import aiohttp

    from lamina.outbound import OutboundRefusedError

    body = event_body(command, target.project_id)
    started = time.perf_counter()
    try:
        async with session.post(
            target.url,
            data=body,
            headers=request_headers(target, command, body),
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=deadline_s),
        ) as response:
            text = await _read_prefix(response, RESPONSE_BODY_MAX_CHARS)
        latency = int((time.perf_counter() - started) * 1000)
        error = None if 200 <= response.status < 300 else f"HTTP {response.status}"
        return Outcome(response.status, latency, error, text)
    except OutboundRefusedError as error:
        return Outcome(None, None, f"refused: {error.message}", None)
    except TimeoutError:  # aiohttp's own timeouts are TimeoutErrors too
        latency = int((time.perf_counter() - started) * 1000)
        return Outcome(None, latency, f"Timeout: no complete answer within {deadline_s:g} s", None)
    except (aiohttp.ClientError, OSError) as error:
        latency = int((time.perf_counter() - started) * 1000)
        return Outcome(None, latency, f"{type(error).__name__}: {error}"[:ERROR_MAX_CHARS], None)


async def _read_prefix(response: aiohttp.ClientResponse, limit: int) -> str:
    """At most `limit` characters of the body: a receiver cannot make the worker buffer megabytes."""
    collected = b""
    while len(collected) < limit:
        chunk = await response.content.read(limit - len(collected))
        if not chunk:
            break
        collected += chunk
    return collected[:limit].decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Step:
    """What one attempt did before anything is written: the network part, run without a database session."""

    command: DeliveryCommand
    action: str  # dropped | cancelled | deferred | sent | rejected
    outcome: Outcome | None = None
    probe: bool = False
    remaining_s: float = 0.0


def is_due(command: DeliveryCommand) -> bool:
    """Whether the command is (nearly) due: one that came early by more than EARLY_WAIT_MAX_S is re-staged."""
    if command.not_before is None:
        return True
    return (command.not_before - utcnow()).total_seconds() <= EARLY_WAIT_MAX_S


async def perform(
    envelope: Envelope,
    target: Target | None,
    session: aiohttp.ClientSession,
    admission: breaker.Admission | None,
    *,
    deadline_s: float,
    must_end_by: float,
) -> Step:
    """Wait out a slightly early command and send it, as the batch's breaker answer (`admissions`) allows:
    all but the writes. No answer means the command was not due when the batch asked: it is re-staged, and
    so is one whose request could outlast `must_end_by` (`time.monotonic()`), the invocation's deadline less
    what the batch needs to record itself: it is not an attempt, just sent again from a fresh invocation."""
    command = DeliveryCommand.model_validate(envelope.payload)
    if target is None:
        return Step(command, "dropped")
    if not target.is_active:
        return Step(command, "cancelled", Outcome(None, None, "subscription stopped", None))
    remaining = 0.0 if command.not_before is None else (command.not_before - utcnow()).total_seconds()
    if admission is None:
        return Step(command, "deferred", remaining_s=max(remaining, 0.0))
    if admission is breaker.Admission.REJECT:
        return Step(
            command, "rejected", Outcome(None, None, "circuit open: the receiver keeps failing", None)
        )
    if remaining > 0:
        import asyncio

        await asyncio.sleep(remaining)
    if time.monotonic() + deadline_s > must_end_by:
        return Step(command, "deferred")
    outcome = await send(session, target, command, deadline_s=deadline_s)
    return Step(command, "sent", outcome, probe=admission is breaker.Admission.PROBE)


def admissions(
    envelopes: list[Envelope], targets: dict[uuid.UUID, Target]
) -> dict[uuid.UUID, breaker.Admission]:
    """The breaker's answer for each due delivery of a batch: one question per subscription whose breaker is
    not closed, and at most one probe per subscription (the others fail fast)."""
    from lamina.settings import get_settings

    answers: dict[uuid.UUID, breaker.Admission] = {}
    per_subscription: dict[uuid.UUID, breaker.Admission] = {}
    for envelope in envelopes:
        command = DeliveryCommand.model_validate(envelope.payload)
        target = targets.get(command.subscription_id)
        if target is None or not target.is_active or not is_due(command):
            continue
        if target.id not in per_subscription:
            per_subscription[target.id] = breaker.admit(
                target.id, target.breaker_state, cooldown_floor_s=get_settings().webhook_timeout_s
            )
            answers[envelope.id] = per_subscription[target.id]
        elif per_subscription[target.id] is breaker.Admission.PROBE:
            answers[envelope.id] = breaker.Admission.REJECT  # the probe went to the first one
        else:
            answers[envelope.id] = per_subscription[target.id]
    return answers


def record(
    session: Session, envelope: Envelope, target: Target | None, step: Step, log: list[dict[str, Any]]
) -> None:
    """Decide what the attempt leaves behind: its log row (appended to `log`, written with the batch's by
    `write_log`), the next attempt staged in `session`, or the DLQ.

    The breaker is updated separately, once per subscription and batch (`record_breaker`, `write_log`).
    """
    from lamina.settings import get_settings

    command, outcome = step.command, step.outcome
    if target is None:
        logger.info("subscription deleted: delivery dropped", extra={"event_id": str(command.event_id)})
        return
    if step.action == "deferred":
        _stage(session, envelope, command, step.remaining_s)
        return
    assert outcome is not None
    if step.action == "cancelled":
        log.append(attempt_row(target, command, "cancelled", outcome))
        return
    scale = get_settings().webhook_backoff_scale
    if outcome.succeeded:
        log.append(attempt_row(target, command, "succeeded", outcome))
    elif command.attempt < WEBHOOK_MAX_ATTEMPTS:
        delay = retry_delay_s(command.attempt, scale=scale)
        due = utcnow() + timedelta(seconds=delay)
        log.append(attempt_row(target, command, "retrying", outcome, next_attempt_at=due))
        following = command.model_copy(update={"attempt": command.attempt + 1, "not_before": due})
        _stage(session, envelope, following, delay)
    else:
        log.append(attempt_row(target, command, "failed", outcome))
        dead_letter(envelope, command)


def record_breaker(session: Session, steps: list[tuple[Target | None, Step]]) -> set[uuid.UUID]:
    """Feed the batch's failed requests to their subscriptions' breakers; return the subscriptions that
    answered at least once (their breakers are closed by `write_log`, in the same statement as the log)."""
    from lamina.settings import get_settings

    outcomes = [
        (target.id, step.outcome.succeeded, step.probe)
        for target, step in steps
        if target is not None and step.action == "sent" and step.outcome is not None
    ]
    alive, failing = breaker.tally(outcomes)
    if failing:
        breaker.record_failures(session, failing, backoff_scale=get_settings().webhook_backoff_scale)
    return alive


# One statement for what a batch leaves in the database besides its follow-ups: every attempt's log row (one
# JSON parameter: the statement is the same whatever the batch size, and the driver encodes one string rather
# than escaping fifteen arrays), the breakers of the subscriptions that answered closed, the inbox completions,
# and, when nothing needs the log to survive a database crash, a commit that does not wait for the disk. pg8000 pays two or three round
# trips per statement: on a batch of ten, that was most of a batch's cost.
_WRITE_LOG = """
WITH commit_mode AS (
    SELECT set_config(
        'synchronous_commit',
        CASE WHEN CAST(:durable AS boolean) THEN current_setting('synchronous_commit') ELSE 'off' END,
        true
    )
), logged AS (
    INSERT INTO webhook_delivery_attempts (
        id, project_id, subscription_id, event_id, event_type, delivery_id, attempt, status, url,
        status_code, latency_ms, error, response_body, attempted_at, next_attempt_at
    )
    SELECT * FROM json_to_recordset(CAST(:rows AS json)) AS r(
        id uuid, project_id uuid, subscription_id uuid, event_id uuid, event_type text, delivery_id uuid,
        attempt integer, status text, url text, status_code integer, latency_ms integer, error text,
        response_body text, attempted_at timestamptz, next_attempt_at timestamptz
    )
    RETURNING 1
), closed AS (
    UPDATE webhook_subscriptions
    SET breaker_state = 'closed', consecutive_failures = 0, breaker_open_until = NULL,
        breaker_probe_expires_at = NULL, updated_at = now()
    WHERE id = ANY(CAST(:alive AS uuid[])) AND (breaker_state <> 'closed' OR consecutive_failures <> 0)
    RETURNING 1
), completed AS ({completion})
SELECT (SELECT count(*) FROM completed), (SELECT count(*) FROM logged), (SELECT count(*) FROM closed),
       (SELECT count(*) FROM commit_mode)
"""


def write_log(
    session: Session,
    log: list[dict[str, Any]],
    *,
    alive: set[uuid.UUID],
    claims: dict[uuid.UUID, uuid.UUID],
    durable: bool = True,
) -> None:
    """Insert a batch's attempt rows, close the breakers of `alive` and complete the batch's inbox `claims`,
    in one statement, in the transaction that claimed them (`lamina.queues.inbox.claim_batch`).

    `durable=False` lets the transaction commit without waiting for its WAL flush: only for a batch whose
    every delivery succeeded, where a database crash could lose nothing but log rows.
    """
    import json

    from sqlalchemy import text

    from lamina.queues.inbox import check_completed, completion_cte, uuid_array
    from lamina.queues.names import Queue

    completion, completion_parameters = completion_cte(Queue.WEBHOOKS, claims)
    completed = session.execute(
        text(_WRITE_LOG.replace("{completion}", completion)),
        {
            "rows": json.dumps(log, default=str),
            "alive": uuid_array(alive),
            "durable": durable,
            **completion_parameters,
        },
    ).scalar_one()
    check_completed(claims, int(completed))


def _stage(session: Session, envelope: Envelope, command: DeliveryCommand, delay_s: float) -> None:
    from lamina.events.outbox import stage_message
    from lamina.queues.names import Queue

    stage_message(
        session,
        Queue.WEBHOOKS,
        DELIVERY_COMMAND,
        command.model_dump(mode="json"),
        project_id=envelope.project_id,
        # Under a second (only a test's scaled schedule): no SQS delay, the handler sleeps it off.
        delay_s=min(math.ceil(delay_s), SQS_MAX_DELAY_S) if delay_s >= EARLY_WAIT_MAX_S else 0,
    )


def attempt_row(
    target: Target,
    command: DeliveryCommand,
    status: str,
    outcome: Outcome,
    *,
    next_attempt_at: datetime | None = None,
) -> dict[str, Any]:
    """The delivery log's row for one attempt, as column values."""
    from lamina.ids import uuid7

    return {
        "id": uuid7(),
        "project_id": target.project_id,
        "subscription_id": target.id,
        "event_id": command.event_id,
        "event_type": command.event_type,
        "delivery_id": signing.delivery_id(command.event_id, target.id),
        "attempt": command.attempt,
        "status": status,
        "url": target.url,
        "status_code": outcome.status_code,
        "latency_ms": outcome.latency_ms,
        # Postgres text cannot hold NUL, whatever a receiver answered.
        "error": None if outcome.error is None else outcome.error.replace("\x00", ""),
        "response_body": None if outcome.response_body is None else outcome.response_body.replace("\x00", ""),
        "attempted_at": utcnow(),
        "next_attempt_at": next_attempt_at,
    }


def log_attempt(
    session: Session, target: Target, command: DeliveryCommand, status: str, outcome: Outcome
) -> WebhookDeliveryAttempt:
    """Add one attempt's row to the delivery log (the `test` endpoint's single request)."""
    from lamina.webhooks.models import WebhookDeliveryAttempt

    row = WebhookDeliveryAttempt(**attempt_row(target, command, status, outcome))
    session.add(row)
    return row


def dead_letter(envelope: Envelope, command: DeliveryCommand) -> None:
    """Put the delivery in the webhooks queue's DLQ, restarted at attempt 1 for `lamina dlq replay`.

    Sent before the handler's commit: if the commit then fails, the redelivered command runs its last attempt
    again and may dead-letter twice, which the receiver's idempotency key absorbs.
    """
    from lamina.queues.envelope import Envelope as Message
    from lamina.state import current
    from lamina.webhooks.dlq import dead_letter_queue_url

    restarted = command.model_copy(update={"attempt": 1, "not_before": None})
    message = Message(
        type=DELIVERY_COMMAND, payload=restarted.model_dump(mode="json"), project_id=envelope.project_id
    )
    url = dead_letter_queue_url()
    current().aws_client("sqs").send_message(QueueUrl=url, MessageBody=message.to_body())
    logger.warning(
        "webhook delivery dead-lettered",
        extra={"event_id": str(command.event_id), "subscription_id": str(command.subscription_id)},
    )


# A batch's subscriptions, read by the claim statement itself (`targets_from`): one round trip fewer.
TARGETS_READ = """
SELECT id, project_id, url, headers, is_active, breaker_state, secret_kms_key_id,
       encode(secret_ciphertext, 'base64') AS secret_ciphertext, encode(secret_data_key, 'base64') AS secret_data_key
FROM webhook_subscriptions WHERE id = ANY(CAST(:subscription_ids AS uuid[]))
"""


def targets_from(rows: list[dict[str, Any]]) -> dict[uuid.UUID, Target]:
    """The `TARGETS_READ` rows (JSON objects) as targets, their secrets decrypted (cached)."""
    import base64

    targets = {}
    for row in rows:
        subscription_id, project_id = uuid.UUID(row["id"]), uuid.UUID(row["project_id"])
        targets[subscription_id] = Target(
            id=subscription_id,
            project_id=project_id,
            url=row["url"],
            headers=dict(row["headers"] or {}),
            is_active=row["is_active"],
            secret=signing_secret(
                subscription_id,
                project_id,
                base64.b64decode(row["secret_ciphertext"]),
                base64.b64decode(row["secret_data_key"]),
                row["secret_kms_key_id"],
            ),
            breaker_state=row["breaker_state"],
        )
    return targets


def signing_secret(
    subscription_id: uuid.UUID, project_id: uuid.UUID, ciphertext: bytes, data_key: bytes, kms_key_id: str
) -> str:
    """The plaintext secret; cached per process by the ciphertext, so a rotation is seen at once.

    One KMS call per subscription and container instead of one per delivery.
    """
    import hashlib

    from lamina.secrets.service import decrypt_parts
    from lamina.state import current

    cache: dict[tuple[uuid.UUID, str], str] = current().memo("webhooks:signing_secrets", dict)
    key = (subscription_id, hashlib.sha256(ciphertext).hexdigest())
    secret = cache.get(key)
    if secret is None:
        secret = decrypt_parts(
            project_id,
            subscription_id,
            ciphertext,
            data_key,
            kms_key_id,
            label=f"the signing secret of webhook {subscription_id}",
        )
        if len(cache) > SECRET_CACHE_MAX:
            cache.clear()
        cache[key] = secret
    return secret
