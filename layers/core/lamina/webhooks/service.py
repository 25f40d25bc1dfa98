"""Webhook subscriptions and their delivery log: create, edit, start/stop, test, query, replay."""

from __future__ import annotations

import secrets as token_source
import uuid
from typing import TYPE_CHECKING

from sqlalchemy import select

from lamina.api.schemas import Windowing
from lamina.db.base import utcnow
from lamina.errors import NotFoundError
from lamina.outbound import check_url
from lamina.webhooks import schemas
from lamina.webhooks.models import WebhookDeliveryAttempt, WebhookSubscription

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from lamina.tenancy.principal import Principal
    from lamina.webhooks.delivery import Target

GENERATED_SECRET_PREFIX = "whsec_"
GENERATED_SECRET_BYTES = 32


def _new_secret() -> str:
    return GENERATED_SECRET_PREFIX + token_source.token_urlsafe(GENERATED_SECRET_BYTES)


def _set_secret(row: WebhookSubscription, value: str) -> None:
    from lamina.secrets.service import encrypt_value

    row.secret_ciphertext, row.secret_data_key, row.secret_kms_key_id = encrypt_value(
        row.project_id, row.id, value
    )


def _apply(row: WebhookSubscription, fields: schemas.SubscriptionFields) -> None:
    check_url(fields.data.url)
    row.name = fields.name
    row.description = fields.description
    row.url = fields.data.url
    # The validator dropped null values already; filtered again for the type checker.
    row.headers = {name: value for name, value in (fields.data.headers or {}).items() if value is not None}
    row.event_types = list(dict.fromkeys(fields.data.event_types or []))
    if fields.flags is not None and fields.flags.is_active is not None:
        row.is_active = fields.flags.is_active
    row.tags = dict(fields.tags or {})
    row.meta = dict(fields.meta or {})


def create_subscription(
    session: Session, principal: Principal, fields: schemas.SubscriptionFields
) -> tuple[WebhookSubscription, str]:
    """The new subscription and its secret in clear (the only time it is shown)."""
    from lamina.ids import uuid7

    row = WebhookSubscription(
        id=uuid7(), project_id=principal.project_id, is_active=True, created_by=principal.actor
    )
    _apply(row, fields)
    secret = fields.secret or _new_secret()
    _set_secret(row, secret)
    session.add(row)
    session.flush()
    return row, secret


def get_subscription(
    session: Session, principal: Principal, subscription_id: uuid.UUID
) -> WebhookSubscription:
    row = session.execute(
        select(WebhookSubscription).where(
            WebhookSubscription.id == subscription_id,
            WebhookSubscription.project_id == principal.project_id,
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFoundError(f"webhook subscription {subscription_id} not found")
    return row


def edit_subscription(
    session: Session, principal: Principal, subscription_id: uuid.UUID, fields: schemas.SubscriptionFields
) -> tuple[WebhookSubscription, str | None]:
    """The edited subscription, and its new secret when the edit rotated it."""
    row = get_subscription(session, principal, subscription_id)
    _apply(row, fields)
    if fields.secret is not None:
        _set_secret(row, fields.secret)
    row.updated_at = utcnow()
    session.flush()
    return row, fields.secret


def delete_subscription(session: Session, principal: Principal, subscription_id: uuid.UUID) -> None:
    """Delete it and its log; its pending retries are dropped when they come up."""
    session.delete(get_subscription(session, principal, subscription_id))
    session.flush()


def set_active(
    session: Session, principal: Principal, subscription_id: uuid.UUID, active: bool
) -> WebhookSubscription:
    row = get_subscription(session, principal, subscription_id)
    row.is_active = active
    row.updated_at = utcnow()
    session.flush()
    return row


def query_subscriptions(
    session: Session, principal: Principal, query: schemas.SubscriptionQuery
) -> list[WebhookSubscription]:
    statement = select(WebhookSubscription).where(WebhookSubscription.project_id == principal.project_id)
    wanted = query.subscription
    if wanted is not None and wanted.name:
        statement = statement.where(WebhookSubscription.name.ilike(f"%{_escape_like(wanted.name)}%"))
    if wanted is not None and wanted.flags is not None and wanted.flags.is_active is not None:
        statement = statement.where(WebhookSubscription.is_active.is_(wanted.flags.is_active))
    windowing = query.windowing or Windowing()
    order = WebhookSubscription.id.asc() if windowing.order == "ascending" else WebhookSubscription.id.desc()
    if windowing.next is not None:
        after = windowing.next
        statement = statement.where(
            WebhookSubscription.id > after
            if windowing.order == "ascending"
            else WebhookSubscription.id < after
        )
    return list(session.execute(statement.order_by(order).limit(windowing.limit)).scalars())


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def query_deliveries(
    session: Session, principal: Principal, query: schemas.DeliveryQuery
) -> list[WebhookDeliveryAttempt]:
    table = WebhookDeliveryAttempt
    statement = select(table).where(table.project_id == principal.project_id)
    wanted = query.delivery
    if wanted is not None:
        if wanted.subscription_id is not None:
            statement = statement.where(table.subscription_id == wanted.subscription_id)
        if wanted.event_id is not None:
            statement = statement.where(table.event_id == wanted.event_id)
        if wanted.delivery_id is not None:
            statement = statement.where(table.delivery_id == wanted.delivery_id)
        if wanted.status is not None:
            statement = statement.where(table.status == wanted.status)
    windowing = query.windowing or Windowing()
    if windowing.next is not None:
        statement = statement.where(
            table.id > windowing.next if windowing.order == "ascending" else table.id < windowing.next
        )
    order = table.id.asc() if windowing.order == "ascending" else table.id.desc()
    return list(session.execute(statement.order_by(order).limit(windowing.limit)).scalars())


def get_delivery(session: Session, principal: Principal, delivery_id: uuid.UUID) -> WebhookDeliveryAttempt:
    """The latest attempt of a delivery, named by its delivery id or by one attempt's id."""
    table = WebhookDeliveryAttempt
    row = session.execute(
        select(table)
        .where(table.project_id == principal.project_id)
        .where((table.delivery_id == delivery_id) | (table.id == delivery_id))
        .order_by(table.attempted_at.desc(), table.attempt.desc())
        .limit(1)
    ).scalar_one_or_none()
    if row is None:
        raise NotFoundError(f"webhook delivery {delivery_id} not found")
    return row


def replay_delivery(session: Session, principal: Principal, delivery_id: uuid.UUID) -> uuid.UUID:
    """Send the delivery again from attempt 1, with the same delivery id and idempotency key."""
    attempt = get_delivery(session, principal, delivery_id)
    _queue_delivery(session, principal, attempt.subscription_id, attempt.event_id, verb="replayed")
    return attempt.delivery_id


def create_delivery(
    session: Session, principal: Principal, subscription_id: uuid.UUID, event_id: uuid.UUID
) -> schemas.QueuedDeliveryResponse:
    """Queue the stored event `event_id` for the subscription, from attempt 1 (see `replay_delivery`)."""
    from lamina.webhooks.signing import delivery_id

    subscription, event_type = _queue_delivery(session, principal, subscription_id, event_id, verb="sent")
    queued = delivery_id(event_id, subscription_id)
    view = schemas.QueuedDeliveryView(
        id=queued,
        delivery_id=queued,
        subscription_id=subscription_id,
        event_id=event_id,
        status=schemas.DeliveryStatus(code="queued", message=None, timestamp=utcnow()),
        data=schemas.QueuedDeliveryData(event_type=event_type, url=subscription.url),
        created_at=utcnow(),
    )
    return schemas.QueuedDeliveryResponse(count=1, delivery=view)


def _queue_delivery(
    session: Session, principal: Principal, subscription_id: uuid.UUID, event_id: uuid.UUID, *, verb: str
) -> tuple[WebhookSubscription, str]:
    """Stage the delivery command of a stored event to a subscription of the project; both, or a 404."""
    from lamina.events.models import EventRecord
    from lamina.events.outbox import stage_message
    from lamina.queues.names import Queue
    from lamina.webhooks.delivery import DELIVERY_COMMAND, DeliveryCommand

    subscription = get_subscription(session, principal, subscription_id)
    event = session.get(EventRecord, event_id)
    if event is None or event.project_id != principal.project_id:
        raise NotFoundError(
            f"event {event_id} is not stored (unknown, or past its retention): it cannot be {verb}"
        )
    command = DeliveryCommand(
        subscription_id=subscription.id,
        event_id=event.id,
        event_type=event.type,
        event_occurred_at=event.occurred_at,
        event_payload=event.payload,
    )
    stage_message(
        session,
        Queue.WEBHOOKS,
        DELIVERY_COMMAND,
        command.model_dump(mode="json"),
        project_id=principal.project_id,
    )
    return subscription, event.type


def test_subscription(
    session: Session, principal: Principal, subscription_id: uuid.UUID
) -> WebhookDeliveryAttempt:
    """Send one `webhooks.subscriptions.tested` event to the subscription now, log it, return the attempt.

    The event is stored in the project's event log (not published: no other subscription or trigger sees it),
    so the test delivery can be replayed like any other."""
    from lamina.events.catalog import EventType, validated_payload
    from lamina.events.models import EventRecord
    from lamina.ids import uuid7
    from lamina.webhooks.delivery import DeliveryCommand, Target, log_attempt, signing_secret
    from lamina.webhooks.sender import send_now

    row = get_subscription(session, principal, subscription_id)
    payload = validated_payload(
        EventType.WEBHOOK_SUBSCRIPTION_TESTED,
        {"subscription_id": str(row.id), "name": row.name, "tested_by": principal.actor},
    )
    command = DeliveryCommand(
        subscription_id=row.id,
        event_id=uuid7(),
        event_type=str(EventType.WEBHOOK_SUBSCRIPTION_TESTED),
        event_occurred_at=utcnow(),
        event_payload=payload,
    )
    target: Target = Target(
        id=row.id,
        project_id=row.project_id,
        url=row.url,
        headers=dict(row.headers or {}),
        is_active=True,
        secret=signing_secret(
            row.id, row.project_id, row.secret_ciphertext, row.secret_data_key, row.secret_kms_key_id
        ),
        breaker_state=row.breaker_state,
    )
    session.add(
        EventRecord(
            id=command.event_id,
            project_id=row.project_id,
            type=command.event_type,
            payload=payload,
            occurred_at=command.event_occurred_at,
        )
    )
    outcome = send_now(target, command)
    attempt = log_attempt(session, target, command, "succeeded" if outcome.succeeded else "failed", outcome)
    session.flush()
    return attempt
