"""A circuit breaker per subscription, its state in Postgres so every worker container shares it.

closed: deliveries are sent. After WEBHOOK_BREAKER_FAILURES consecutive failures it opens: for
WEBHOOK_BREAKER_COOLDOWN_S deliveries to that subscription fail at once without a request (each still uses up
one attempt of its retry schedule and is logged), so a dead receiver costs the worker no connect or read
timeouts and does not slow deliveries to the others. Once the cooldown has passed, one delivery takes the
half-open probe (an atomic UPDATE, committed before it sends): its success closes the breaker, its failure
opens it again. A probe whose worker died is given up after its lease.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import and_, case, func, literal, or_, update

from lamina.webhooks.models import WebhookSubscription

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

WEBHOOK_BREAKER_FAILURES = 5
WEBHOOK_BREAKER_COOLDOWN_S = 60.0
# How long a half-open probe may take before another delivery may probe instead (> the request timeout).
WEBHOOK_BREAKER_PROBE_LEASE_S = 60.0


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Admission(StrEnum):
    SEND = "send"  # closed: send normally
    PROBE = "probe"  # this delivery holds the half-open probe
    REJECT = "reject"  # open, or another delivery is probing: fail fast


def admit(subscription_id: uuid.UUID, state: str, *, cooldown_floor_s: float = 0.0) -> Admission:
    """Whether deliveries may be sent now, given the breaker `state` read at the start of the batch.

    Asked once per subscription and batch: PROBE means exactly one of the batch's deliveries may be sent.
    """
    if state == BreakerState.CLOSED:
        return Admission.SEND
    from lamina.db.unit_of_work import unit_of_work

    table = WebhookSubscription
    now = func.now()
    # Committed on its own before the request, so concurrent deliveries see that the probe is taken.
    with unit_of_work() as session:
        taken = session.execute(
            update(table)
            .where(
                table.id == subscription_id,
                or_(
                    (table.breaker_state == BreakerState.OPEN.value) & (table.breaker_open_until <= now),
                    (table.breaker_state == BreakerState.HALF_OPEN.value)
                    & (table.breaker_probe_expires_at <= now),
                ),
            )
            .values(
                breaker_state=BreakerState.HALF_OPEN.value,
                breaker_probe_expires_at=now
                + timedelta(seconds=max(WEBHOOK_BREAKER_PROBE_LEASE_S, 2 * cooldown_floor_s)),
            )
            .returning(table.id)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        if taken is not None:
            return Admission.PROBE
        current = session.get(table, subscription_id)
    if current is not None and current.breaker_state == BreakerState.CLOSED:
        return Admission.SEND  # closed since the batch read it
    return Admission.REJECT


def record_failure(
    session: Session, subscription_id: uuid.UUID, *, probe: bool, backoff_scale: float, count: int = 1
) -> None:
    """Count `count` failed requests; open the breaker at the threshold, or again when the probe failed.

    The cooldown scales with the retry schedule (tests) but never falls below one request timeout.
    """
    from lamina.settings import get_settings

    table = WebhookSubscription
    failures = table.consecutive_failures + count
    trips = or_(failures >= WEBHOOK_BREAKER_FAILURES, literal(probe))
    # Already open: a straggler's failure (sent before it opened) must not push the cooldown further.
    opens = and_(trips, table.breaker_state != BreakerState.OPEN.value)
    cooldown = timedelta(
        seconds=max(WEBHOOK_BREAKER_COOLDOWN_S * backoff_scale, get_settings().webhook_timeout_s)
    )
    session.execute(
        update(WebhookSubscription)
        .where(table.id == subscription_id)
        .values(
            consecutive_failures=failures,
            breaker_state=case((opens, BreakerState.OPEN.value), else_=table.breaker_state),
            breaker_open_until=case((opens, func.now() + cooldown), else_=table.breaker_open_until),
            breaker_probe_expires_at=case((opens, None), else_=table.breaker_probe_expires_at),
            breaker_trips=case((opens, table.breaker_trips + 1), else_=table.breaker_trips),
        )
        .execution_options(synchronize_session=False)
    )


def tally(
    outcomes: list[tuple[uuid.UUID, bool, bool]],
) -> tuple[set[uuid.UUID], dict[uuid.UUID, tuple[int, bool]]]:
    """A batch's requests, as (subscription id, succeeded, was the probe), per subscription: those that
    answered at least once (alive: their breakers close) and, for the others, (failures, a probe failed).

    Requests of a batch run concurrently, so their order is unknown: one success in the batch means the
    receiver is alive (the count is reset); failures count only when every request to it failed.
    """
    alive = {subscription_id for subscription_id, succeeded, _ in outcomes if succeeded}
    failing: dict[uuid.UUID, tuple[int, bool]] = {}
    for subscription_id, _, probe in outcomes:
        if subscription_id in alive:
            continue
        failures, probe_failed = failing.get(subscription_id, (0, False))
        failing[subscription_id] = (failures + 1, probe_failed or probe)
    return alive, failing


def record_failures(
    session: Session, failing: dict[uuid.UUID, tuple[int, bool]], *, backoff_scale: float
) -> None:
    """`record_failure` for each subscription of `tally`'s failing ones."""
    for subscription_id, (failures, probe_failed) in failing.items():
        record_failure(
            session, subscription_id, probe=probe_failed, backoff_scale=backoff_scale, count=failures
        )
