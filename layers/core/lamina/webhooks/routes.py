"""`/api/webhooks/...`: subscriptions (create, get, edit, delete, query, test, start, stop) and deliveries."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from lamina.api.deps import ProjectEditor, ProjectViewer, SessionDep
from lamina.api.routing import DeferredRouter
from lamina.webhooks import schemas

if TYPE_CHECKING:
    from lamina.webhooks import service
    from lamina.webhooks.models import WebhookSubscription
else:
    from lamina.lazy import lazy_module

    service = lazy_module("lamina.webhooks.service")

router = DeferredRouter(prefix="/webhooks", tags=["webhooks"])


def _one(row: WebhookSubscription, secret: str | None = None) -> schemas.SubscriptionResponse:
    return schemas.SubscriptionResponse(count=1, subscription=schemas.SubscriptionView.of(row, secret=secret))


@router.post("/subscriptions/")
def create_subscription(
    body: schemas.SubscriptionCreate, session: SessionDep, principal: ProjectEditor
) -> schemas.SubscriptionResponse:
    row, secret = service.create_subscription(session, principal, body.subscription)
    return _one(row, secret)


@router.post("/subscriptions/query")
def query_subscriptions(
    body: schemas.SubscriptionQuery, session: SessionDep, principal: ProjectViewer
) -> schemas.SubscriptionsResponse:
    views = [
        schemas.SubscriptionView.of(row) for row in service.query_subscriptions(session, principal, body)
    ]
    return schemas.SubscriptionsResponse(count=len(views), subscriptions=views)


@router.post("/subscriptions/test")
def test_subscription(
    body: schemas.SubscriptionTest, session: SessionDep, principal: ProjectEditor
) -> schemas.DeliveryResponse:
    attempt = service.test_subscription(session, principal, body.subscription_id)
    return schemas.DeliveryResponse(count=1, delivery=schemas.DeliveryView.of(attempt))


@router.get("/subscriptions/{subscription_id}")
def fetch_subscription(
    subscription_id: uuid.UUID, session: SessionDep, principal: ProjectViewer
) -> schemas.SubscriptionResponse:
    return _one(service.get_subscription(session, principal, subscription_id))


@router.put("/subscriptions/{subscription_id}")
def edit_subscription(
    subscription_id: uuid.UUID, body: schemas.SubscriptionEdit, session: SessionDep, principal: ProjectEditor
) -> schemas.SubscriptionResponse:
    row, secret = service.edit_subscription(session, principal, subscription_id, body.subscription)
    return _one(row, secret)


@router.delete("/subscriptions/{subscription_id}")
def delete_subscription(
    subscription_id: uuid.UUID, session: SessionDep, principal: ProjectEditor
) -> schemas.DeletedSubscriptionResponse:
    service.delete_subscription(session, principal, subscription_id)
    return schemas.DeletedSubscriptionResponse(count=1, id=subscription_id)


@router.post("/subscriptions/{subscription_id}/start")
def start_subscription(
    subscription_id: uuid.UUID, session: SessionDep, principal: ProjectEditor
) -> schemas.SubscriptionResponse:
    return _one(service.set_active(session, principal, subscription_id, True))


@router.post("/subscriptions/{subscription_id}/stop")
def stop_subscription(
    subscription_id: uuid.UUID, session: SessionDep, principal: ProjectEditor
) -> schemas.SubscriptionResponse:
    return _one(service.set_active(session, principal, subscription_id, False))


@router.post("/deliveries")
def create_delivery(
    body: schemas.DeliveryCreate, session: SessionDep, principal: ProjectEditor
) -> schemas.QueuedDeliveryResponse:
    """Send a stored event to a subscription (again, or for the first time): queued now, attempted by the
    webhooks worker with the usual retries, under the delivery id and idempotency key of that event and
    subscription."""
    fields = body.delivery
    return service.create_delivery(session, principal, fields.subscription_id, fields.event_id)


@router.post("/deliveries/query")
def query_deliveries(
    body: schemas.DeliveryQuery, session: SessionDep, principal: ProjectViewer
) -> schemas.DeliveriesResponse:
    views = [schemas.DeliveryView.of(row) for row in service.query_deliveries(session, principal, body)]
    return schemas.DeliveriesResponse(count=len(views), deliveries=views)


@router.get("/deliveries/{delivery_id}")
def fetch_delivery(
    delivery_id: uuid.UUID, session: SessionDep, principal: ProjectViewer
) -> schemas.DeliveryResponse:
    row = service.get_delivery(session, principal, delivery_id)
    return schemas.DeliveryResponse(count=1, delivery=schemas.DeliveryView.of(row))


@router.post("/deliveries/{delivery_id}/replay")
def replay_delivery(
    delivery_id: uuid.UUID, session: SessionDep, principal: ProjectEditor
) -> schemas.ReplayResponse:
    replayed = service.replay_delivery(session, principal, delivery_id)
    return schemas.ReplayResponse(count=1, delivery_id=replayed, replayed=True)
