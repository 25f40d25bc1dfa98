"""Scheduled tasks, chosen by the constant `Input` each schedule carries (`{"task": "retention"}`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from lamina.db.base import utcnow
from lamina.errors import ValidationFailedError

logger = logging.getLogger(__name__)

# SQS keeps a message at most 14 days (a DLQ replay starts the clock again, once): past that, no delivery of
# an envelope can still arrive, so its inbox record has nothing left to deduplicate.
INBOX_RETENTION = timedelta(days=28)


def retention() -> dict[str, Any]:
    """Delete recorded events and trigger deliveries (by project setting), inbox records and spans past their
    retention periods."""
    from sqlalchemy import delete

    from lamina.db.unit_of_work import unit_of_work
    from lamina.events.log import delete_expired
    from lamina.queues.inbox import InboxMessage

    now = utcnow()
    with unit_of_work() as session:
        inbox = session.execute(delete(InboxMessage).where(InboxMessage.claimed_at < now - INBOX_RETENTION))
    from lamina.tracing.alerts import delete_old_error_windows
    from lamina.tracing.retention import delete_expired_spans
    from lamina.webhooks.retention import delete_expired_delivery_attempts

    return {
        "events_deleted": delete_expired("events", "recorded_at"),
        "trigger_deliveries_deleted": delete_expired("trigger_deliveries", "created_at"),
        "webhook_delivery_attempts_deleted": delete_expired_delivery_attempts(),
        "inbox_records_deleted": int(getattr(inbox, "rowcount", 0) or 0),
        "spans_deleted": delete_expired_spans(),
        "trace_error_windows_deleted": delete_old_error_windows(),
    }


def due_triggers() -> dict[str, Any]:
    """Fire the scheduled triggers whose tick is due (at most one missed tick each: see the function)."""
    from lamina.triggers.dispatch import fire_due_schedules

    return fire_due_schedules()


def watchdog() -> dict[str, Any]:
    """Fail runs stuck past their deadline: evaluation scenarios (and so their runs). Agent runs land later."""
    from lamina.evaluations.watchdog import fail_stuck_scenarios

    return {"failed_runs": 0, "evaluations": fail_stuck_scenarios()}


def flush_outbox() -> dict[str, Any]:
    """Publish domain events whose request committed but could not hand them to SQS."""
    from lamina.events.outbox import flush_outbox as flush

    return flush()


TASKS: dict[str, Callable[[], dict[str, Any]]] = {
    "retention": retention,
    "due_triggers": due_triggers,
    "flush_outbox": flush_outbox,
    "watchdog": watchdog,
}


def run_scheduled_task(event: Mapping[str, Any]) -> dict[str, Any]:
    """Run the task named by the event; a plain EventBridge scheduled event (no `task`) runs them all."""
    task = event.get("task")
    names = [task] if task else list(TASKS)
    unknown = [name for name in names if name not in TASKS]
    if unknown:
        raise ValidationFailedError(f"unknown scheduled task {unknown[0]!r}; known: {', '.join(TASKS)}")
    results = {name: TASKS[name]() for name in names}
    logger.info("scheduled tasks done", extra={"results": results})
    return results
