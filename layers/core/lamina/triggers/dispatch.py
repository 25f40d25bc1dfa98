"""Turning ticks and events into deliveries, each exactly once.

A delivery's id is derived from what it delivers: (schedule, tick) or (subscription, event id). It is the
primary key of the delivery log, inserted in the same transaction that stages its message for the triggers
worker, so a tick the cron sees twice or an event the events worker receives twice finds its delivery already
there and stages nothing: it runs once. The worker, in turn, runs only a delivery still pending.

Loop guard: a delivery is one trigger run deeper than the envelope that caused it (`Envelope.depth`), and the
run's message carries that depth, so whatever the run emits does too. A trigger whose run emits an event it
matches (directly, or through a chain of triggers, evaluations and workers) stops after TRIGGER_MAX_DEPTH runs:
the delivery past the limit is recorded as skipped (code 508, Loop Detected) with the reason, and not run.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from lamina.db.base import utcnow
from lamina.events.outbox import stage_message
from lamina.queues.names import Queue
from lamina.triggers.errors import InvalidScheduleError
from lamina.triggers.mapping import resolve, resolve_inputs
from lamina.triggers.models import TriggerDelivery, TriggerSchedule, TriggerSubscription
from lamina.triggers.ticks import Cadence, cadence

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from lamina.queues.envelope import Envelope

logger = logging.getLogger(__name__)

DELIVERY_REQUESTED = "triggers.delivery.requested"
# Namespace of the derived delivery ids (uuid5): fixed forever, or redelivered ticks would get new ids.
DELIVERY_NAMESPACE = uuid.UUID("0f1c2b7e-5d3a-4c55-9a61-2b8f7d9e4c10")
# Trigger runs one chain of causes may take; the next is recorded, not run.
TRIGGER_MAX_DEPTH = 8
LOOP_DETECTED = "508"
DUE_BATCH = 200
DUE_MAX_BATCHES = 25
MAX_COUNTED_TICKS = 10_000
_MICROSECOND = timedelta(microseconds=1)

PENDING, RUNNING, SUCCESS, DISPATCHED, SKIPPED, FAILURE = (
    "pending",
    "running",
    "success",
    "dispatched",
    "skipped",
    "failure",
)
STATUS_CODES = {PENDING: "102", RUNNING: "102", SUCCESS: "200", DISPATCHED: "202", SKIPPED: "204"}


def delivery_id(trigger_id: uuid.UUID, occurrence: str) -> uuid.UUID:
    """The delivery of `trigger_id` for one tick (its ISO time) or one event (its id)."""
    return uuid.uuid5(DELIVERY_NAMESPACE, f"{trigger_id}:{occurrence}")


def event_context(
    trigger: TriggerSchedule | TriggerSubscription,
    *,
    event_id: str,
    event_type: str,
    timestamp: datetime,
    payload: dict[str, Any],
) -> dict[str, Any]:
    """What an inputs mapping and a filter can read (see `lamina.triggers.mapping`)."""
    return {
        "event": {
            "event_id": event_id,
            "event_type": event_type,
            "timestamp": timestamp.isoformat(),
            "attributes": payload,
        },
        "payload": payload,
        "trigger": {"id": str(trigger.id), "name": trigger.name, "tags": trigger.tags, "meta": trigger.meta},
        "scope": {"project_id": str(trigger.project_id)},
    }


def stage_delivery(
    session: Session,
    trigger: TriggerSchedule | TriggerSubscription,
    *,
    event_id: str,
    context: dict[str, Any],
    depth: int = 1,
) -> uuid.UUID | None:
    """Log the delivery and stage its run; None when this (trigger, occurrence) was delivered already.

    `depth`: the run's causation depth (one more than its cause's); past TRIGGER_MAX_DEPTH it is logged as
    skipped by the loop guard and not run.
    """
    target = trigger.data
    is_test = isinstance(trigger, TriggerSubscription) and trigger.is_test
    looping = depth > TRIGGER_MAX_DEPTH
    data: dict[str, Any] = {
        "event_key": target.get("event_key"),
        "references": target.get("references"),
        "selector": target.get("selector"),
        "evaluation": target.get("evaluation"),
        "inputs": resolve_inputs(target.get("inputs_fields"), context),
        "is_test": is_test,
        "depth": depth,
    }
    status = SKIPPED if is_test or looping else PENDING
    message = "test: recorded, not run" if is_test else None
    if looping:
        message = (
            f"loop guard: this event comes from a chain of {depth - 1} trigger runs (at most"
            f" {TRIGGER_MAX_DEPTH}); not run"
        )
        data["error"] = message  # where Agenta's delivery shape says why it did not run
        logger.warning("trigger loop stopped", extra={"trigger_id": str(trigger.id), "depth": depth})
    new_id = delivery_id(trigger.id, event_id)
    inserted = session.execute(
        insert(TriggerDelivery)
        .values(
            id=new_id,
            project_id=trigger.project_id,
            schedule_id=trigger.id if isinstance(trigger, TriggerSchedule) else None,
            subscription_id=trigger.id if isinstance(trigger, TriggerSubscription) else None,
            event_id=event_id,
            status=status,
            status_code=LOOP_DETECTED if looping and not is_test else STATUS_CODES[status],
            status_message=message,
            data={key: value for key, value in data.items() if value is not None},
            attempts=0,
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(TriggerDelivery.id)
    ).scalar_one_or_none()
    if inserted is None:
        logger.info("trigger delivery already recorded", extra={"delivery_id": str(new_id)})
        return None
    if status == PENDING:
        stage_message(
            session,
            Queue.TRIGGERS,
            DELIVERY_REQUESTED,
            {"delivery_id": str(new_id)},
            project_id=trigger.project_id,
            depth=depth,  # what the run emits is one trigger run deeper than its cause
        )
    return new_id


# ---------------------------------------------------------------- events -> subscriptions


def event_key_matches(pattern: str, event_type: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def filters_hold(filters: dict[str, Any] | None, context: dict[str, Any]) -> bool:
    return all(resolve(path, context) == expected for path, expected in (filters or {}).items())


def matching_context(
    subscription: TriggerSubscription,
    event_id: str,
    event_type: str,
    timestamp: datetime,
    payload: dict[str, Any],
) -> dict[str, Any] | None:
    """What the subscription's mapping reads from this event, or None when its key or filters do not match."""
    if not event_key_matches(subscription.event_key, event_type):
        return None
    context = event_context(
        subscription, event_id=event_id, event_type=event_type, timestamp=timestamp, payload=payload
    )
    return context if filters_hold(subscription.data.get("filters"), context) else None


def fan_out_event(envelope: Envelope, session: Session) -> list[uuid.UUID]:
    """Stage a delivery for each active subscription of the event's project whose type and filters match."""
    if envelope.project_id is None:
        return []
    subscriptions = session.execute(
        select(TriggerSubscription).where(
            TriggerSubscription.project_id == envelope.project_id,
            TriggerSubscription.is_active.is_(True),
            TriggerSubscription.is_valid.is_(True),
            # A subscription with a connection watches an outside provider's events, not Lamina's.
            TriggerSubscription.connection_id.is_(None),
        )
    ).scalars()
    staged = []
    for subscription in subscriptions:
        context = matching_context(
            subscription, str(envelope.id), envelope.type, envelope.occurred_at, envelope.payload
        )
        if context is None:
            continue
        new_id = stage_delivery(
            session, subscription, event_id=str(envelope.id), context=context, depth=envelope.depth + 1
        )
        if new_id is not None:
            staged.append(new_id)
    return staged


# ---------------------------------------------------------------- schedules -> ticks


def fire_due_schedules(now: datetime | None = None) -> dict[str, Any]:
    """The cron task: a delivery for each schedule whose next tick is due, then its following tick.

    Catches up at most one missed tick per schedule: after an outage (the cron, or the database, down for an
    hour) a five-minute schedule fires once, for the latest tick that was due, not twelve times in a burst.
    A scheduled run stands for "run it as of now": a burst of stale runs would cost N model calls for one
    answer and hit the provider's rate limit when the stack is least healthy. Skipped ticks are logged.
    """
    from lamina.db.unit_of_work import unit_of_work

    now = now or utcnow()
    fired = skipped = 0
    for _ in range(DUE_MAX_BATCHES):
        with unit_of_work() as session:
            schedules = list(
                session.execute(
                    select(TriggerSchedule)
                    .where(TriggerSchedule.is_active.is_(True), TriggerSchedule.next_tick_at <= now)
                    .order_by(TriggerSchedule.next_tick_at)
                    .limit(DUE_BATCH)
                    # Two cron runs at once share the work instead of both firing a schedule.
                    .with_for_update(skip_locked=True)
                ).scalars()
            )
            for schedule in schedules:
                try:
                    fired_now, skipped_now = _fire(session, schedule, now)
                except InvalidScheduleError:
                    # Valid when saved, unreadable now (a time zone gone from tzdata): park it, keep the rest.
                    logger.exception("schedule can no longer fire", extra={"schedule_id": str(schedule.id)})
                    schedule.next_tick_at = None
                    continue
                fired += fired_now
                skipped += skipped_now
        if len(schedules) < DUE_BATCH:
            break
    return {"fired": fired, "missed_ticks_skipped": skipped}


def _fire(session: Session, schedule: TriggerSchedule, now: datetime) -> tuple[int, int]:
    when = cadence(schedule.cron, schedule.timezone, schedule.start_time, schedule.end_time)
    due = schedule.next_tick_at
    assert due is not None
    horizon = now if when.end_time is None else min(now, when.end_time - _MICROSECOND)
    latest = when.latest_at_or_before(horizon)
    tick = latest if latest is not None and latest > due else due
    skipped = 0
    if tick != due:
        skipped = _count_ticks(when, due, tick)
        logger.warning(
            "schedule missed ticks: firing the latest only",
            extra={
                "schedule_id": str(schedule.id),
                "first_missed": due.isoformat(),
                "fired": tick.isoformat(),
            },
        )
    event_id = tick.isoformat()
    context = event_context(
        schedule,
        event_id=event_id,
        event_type=str(schedule.data.get("event_key") or "triggers.schedule.ticked"),
        timestamp=tick,
        payload={"schedule_id": str(schedule.id), "scheduled_at": event_id, "fired_at": now.isoformat()},
    )
    staged = stage_delivery(session, schedule, event_id=event_id, context=context)
    schedule.last_tick_at = tick
    schedule.next_tick_at = when.next_after(max(now, tick))
    return (1 if staged is not None else 0), skipped


def _count_ticks(when: Cadence, first: datetime, last: datetime) -> int:
    """How many ticks in [first, last) are skipped (bounded: an old schedule may have missed many)."""
    count, moment = 0, first
    while moment < last and count < MAX_COUNTED_TICKS:
        count += 1
        following = when.next_after(moment)
        if following is None:
            break
        moment = following
    return count
