"""Retention of the delivery log: attempts older than WEBHOOK_DELIVERY_RETENTION are deleted by the cron."""

from __future__ import annotations

from datetime import timedelta

# Past the longest retry schedule (about 28 h) and a DLQ's 14 days, with room to investigate.
WEBHOOK_DELIVERY_RETENTION = timedelta(days=30)
DELETE_BATCH = 10_000


def delete_expired_delivery_attempts() -> int:
    """Delete old attempt rows in bounded batches (each its own transaction); returns how many."""
    from sqlalchemy import delete, select

    from lamina.db.base import utcnow
    from lamina.db.unit_of_work import unit_of_work
    from lamina.webhooks.models import WebhookDeliveryAttempt as Attempt

    cutoff = utcnow() - WEBHOOK_DELIVERY_RETENTION
    total = 0
    while True:
        with unit_of_work() as session:
            expired = select(Attempt.id).where(Attempt.attempted_at < cutoff).limit(DELETE_BATCH)
            result = session.execute(delete(Attempt).where(Attempt.id.in_(expired)))
            deleted = int(getattr(result, "rowcount", 0) or 0)
        total += deleted
        if deleted < DELETE_BATCH:
            return total
