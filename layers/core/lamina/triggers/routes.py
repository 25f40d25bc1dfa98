"""`/api/triggers/schedules/`, `/api/triggers/subscriptions/`, `/api/triggers/deliveries` (Agenta's shapes)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from lamina.api.deps import ProjectEditor, ProjectViewer, SessionDep
from lamina.api.routing import DeferredRouter
from lamina.triggers import schemas

if TYPE_CHECKING:
    from lamina.triggers import deliveries, service
else:
    from lamina.lazy import lazy_module

    deliveries = lazy_module("lamina.triggers.deliveries")
    service = lazy_module("lamina.triggers.service")

router = DeferredRouter(prefix="/triggers", tags=["triggers"])


def _schedule(view: schemas.TriggerScheduleView) -> schemas.ScheduleResponse:
    return schemas.ScheduleResponse(count=1, schedule=view)


def _subscription(view: schemas.TriggerSubscriptionView) -> schemas.SubscriptionResponse:
    return schemas.SubscriptionResponse(count=1, subscription=view)


# ---------------------------------------------------------------- schedules


@router.post("/schedules/", response_model=schemas.ScheduleResponse)
def create_schedule(
    body: schemas.ScheduleCreateBody, session: SessionDep, principal: ProjectEditor
) -> schemas.ScheduleResponse:
    """A cron schedule (5 fields, in `data.timezone`, within [start_time, end_time)) that runs its target."""
    return _schedule(service.create_schedule(session, principal, body.schedule))


@router.get("/schedules/", response_model=schemas.SchedulesResponse)
def list_schedules(session: SessionDep, principal: ProjectViewer) -> schemas.SchedulesResponse:
    return service.query_schedules(session, principal, None, None)


@router.post("/schedules/query", response_model=schemas.SchedulesResponse)
def query_schedules(
    body: schemas.ScheduleQueryBody, session: SessionDep, principal: ProjectViewer
) -> schemas.SchedulesResponse:
    return service.query_schedules(session, principal, body.schedule, body.windowing)


@router.get("/schedules/{schedule_id}", response_model=schemas.ScheduleResponse)
def fetch_schedule(
    schedule_id: uuid.UUID, session: SessionDep, principal: ProjectViewer
) -> schemas.ScheduleResponse:
    return _schedule(service.schedule_view(service.fetch_schedule(session, principal, schedule_id)))


@router.put("/schedules/{schedule_id}", response_model=schemas.ScheduleResponse)
def edit_schedule(
    schedule_id: uuid.UUID, body: schemas.ScheduleEditBody, session: SessionDep, principal: ProjectEditor
) -> schemas.ScheduleResponse:
    return _schedule(service.edit_schedule(session, principal, schedule_id, body.schedule))


@router.delete("/schedules/{schedule_id}", response_model=schemas.ScheduleResponse)
def delete_schedule(
    schedule_id: uuid.UUID, session: SessionDep, principal: ProjectEditor
) -> schemas.ScheduleResponse:
    return _schedule(service.delete_schedule(session, principal, schedule_id))


@router.post("/schedules/{schedule_id}/start", response_model=schemas.ScheduleResponse)
def start_schedule(
    schedule_id: uuid.UUID, session: SessionDep, principal: ProjectEditor
) -> schemas.ScheduleResponse:
    return _schedule(service.toggle_schedule(session, principal, schedule_id, True))


@router.post("/schedules/{schedule_id}/stop", response_model=schemas.ScheduleResponse)
def stop_schedule(
    schedule_id: uuid.UUID, session: SessionDep, principal: ProjectEditor
) -> schemas.ScheduleResponse:
    return _schedule(service.toggle_schedule(session, principal, schedule_id, False))


# ---------------------------------------------------------------- subscriptions (event triggers)


@router.post("/subscriptions/", response_model=schemas.SubscriptionResponse)
def create_subscription(
    body: schemas.SubscriptionCreateBody, session: SessionDep, principal: ProjectEditor
) -> schemas.SubscriptionResponse:
    """An event trigger: events whose type matches `data.event_key` (and `data.filters`) run its target."""
    return _subscription(service.create_subscription(session, principal, body.subscription))


@router.get("/subscriptions/", response_model=schemas.SubscriptionsResponse)
def list_subscriptions(session: SessionDep, principal: ProjectViewer) -> schemas.SubscriptionsResponse:
    return service.query_subscriptions(session, principal, None, None)


@router.post("/subscriptions/query", response_model=schemas.SubscriptionsResponse)
def query_subscriptions(
    body: schemas.SubscriptionQueryBody, session: SessionDep, principal: ProjectViewer
) -> schemas.SubscriptionsResponse:
    return service.query_subscriptions(session, principal, body.subscription, body.windowing)


@router.post("/subscriptions/test", response_model=schemas.DeliveryResponse)
def test_subscription(
    body: schemas.SubscriptionCreateBody, session: SessionDep, principal: ProjectEditor
) -> schemas.DeliveryResponse:
    """Try an unsaved subscription on the latest stored event it matches: the delivery it would make, its
    inputs resolved, recorded and not run (count 0: no stored event matches)."""
    return service.test_subscription(session, principal, body.subscription)


@router.get("/subscriptions/{subscription_id}", response_model=schemas.SubscriptionResponse)
def fetch_subscription(
    subscription_id: uuid.UUID, session: SessionDep, principal: ProjectViewer
) -> schemas.SubscriptionResponse:
    return _subscription(
        service.subscription_view(service.fetch_subscription(session, principal, subscription_id))
    )


@router.put("/subscriptions/{subscription_id}", response_model=schemas.SubscriptionResponse)
def edit_subscription(
    subscription_id: uuid.UUID,
    body: schemas.SubscriptionEditBody,
    session: SessionDep,
    principal: ProjectEditor,
) -> schemas.SubscriptionResponse:
    return _subscription(service.edit_subscription(session, principal, subscription_id, body.subscription))


@router.delete("/subscriptions/{subscription_id}", response_model=schemas.SubscriptionResponse)
def delete_subscription(
    subscription_id: uuid.UUID, session: SessionDep, principal: ProjectEditor
) -> schemas.SubscriptionResponse:
    return _subscription(service.delete_subscription(session, principal, subscription_id))


@router.post("/subscriptions/{subscription_id}/start", response_model=schemas.SubscriptionResponse)
def start_subscription(
    subscription_id: uuid.UUID, session: SessionDep, principal: ProjectEditor
) -> schemas.SubscriptionResponse:
    return _subscription(service.toggle_subscription(session, principal, subscription_id, True))


@router.post("/subscriptions/{subscription_id}/stop", response_model=schemas.SubscriptionResponse)
def stop_subscription(
    subscription_id: uuid.UUID, session: SessionDep, principal: ProjectEditor
) -> schemas.SubscriptionResponse:
    return _subscription(service.toggle_subscription(session, principal, subscription_id, False))


@router.post("/subscriptions/{subscription_id}/refresh", response_model=schemas.SubscriptionResponse)
def refresh_subscription(
    subscription_id: uuid.UUID, session: SessionDep, principal: ProjectEditor
) -> schemas.SubscriptionResponse:
    """Check the subscription again and, when it passes, make it valid: it fires again (if started)."""
    return _subscription(service.set_subscription_valid(session, principal, subscription_id, True))


@router.post("/subscriptions/{subscription_id}/revoke", response_model=schemas.SubscriptionResponse)
def revoke_subscription(
    subscription_id: uuid.UUID, session: SessionDep, principal: ProjectEditor
) -> schemas.SubscriptionResponse:
    """Make the subscription invalid: it fires on nothing until refreshed, whether started or stopped."""
    return _subscription(service.set_subscription_valid(session, principal, subscription_id, False))


# ---------------------------------------------------------------- deliveries


@router.get("/deliveries", response_model=schemas.DeliveriesResponse)
def list_deliveries(session: SessionDep, principal: ProjectViewer) -> schemas.DeliveriesResponse:
    """The latest deliveries of the project's triggers, newest first."""
    return deliveries.query_deliveries(session, principal.project_id, None, None)


@router.post("/deliveries/query", response_model=schemas.DeliveriesResponse)
def query_deliveries(
    body: schemas.DeliveryQueryBody, session: SessionDep, principal: ProjectViewer
) -> schemas.DeliveriesResponse:
    return deliveries.query_deliveries(session, principal.project_id, body.delivery, body.windowing)


@router.get("/deliveries/{delivery_id}", response_model=schemas.DeliveryResponse)
def fetch_delivery(
    delivery_id: uuid.UUID, session: SessionDep, principal: ProjectViewer
) -> schemas.DeliveryResponse:
    return deliveries.fetch_delivery(session, principal.project_id, delivery_id)
