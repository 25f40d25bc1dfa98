"""The events worker's fan-out: one delivery command per (event, matching active subscription)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from lamina.queues.envelope import Envelope


def matches(event_types: list[str], event_type: str) -> bool:
    """Whether a subscription's filter takes `event_type`: empty takes all; `applications.*` a prefix."""
    if not event_types:
        return True
    for pattern in event_types:
        if pattern == event_type:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def stage_webhook_deliveries(envelope: Envelope, session: Session) -> int:
    """Stage a delivery command per matching subscription, in the events worker's own transaction.

    They commit with the event's inbox record, so a redelivered event cannot fan out twice. Returns how many.
    """
    from sqlalchemy import select

    from lamina.events.outbox import stage_message
    from lamina.queues.names import Queue
    from lamina.webhooks.delivery import DELIVERY_COMMAND, DeliveryCommand
    from lamina.webhooks.models import WebhookSubscription

    if envelope.project_id is None:
        return 0
    subscriptions = session.execute(
        select(WebhookSubscription.id, WebhookSubscription.event_types).where(
            WebhookSubscription.project_id == envelope.project_id, WebhookSubscription.is_active.is_(True)
        )
    ).all()
    staged = 0
    for subscription_id, event_types in subscriptions:
        if not matches(list(event_types or []), envelope.type):
            continue
        command = DeliveryCommand(
            subscription_id=subscription_id,
            event_id=envelope.id,
            event_type=envelope.type,
            event_occurred_at=envelope.occurred_at,
            event_payload=envelope.payload,
        )
        stage_message(
            session,
            Queue.WEBHOOKS,
            DELIVERY_COMMAND,
            command.model_dump(mode="json"),
            project_id=envelope.project_id,
        )
        staged += 1
    return staged
