"""The delivery log read back: `/api/triggers/deliveries` (what each tick or event ran, and how it ended)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy import select

from lamina.errors import NotFoundError
from lamina.events.keyset import LogWindowing, fetch_log_window
from lamina.triggers import schemas
from lamina.triggers.models import TriggerDelivery

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def delivery_view(row: TriggerDelivery) -> schemas.TriggerDeliveryView:
    return schemas.TriggerDeliveryView(
        id=row.id,
        status=schemas.DeliveryStatus(timestamp=row.updated_at, code=row.status_code, message=row.status),
        data=schemas.agenta_data(row.data),
        subscription_id=row.subscription_id,
        schedule_id=row.schedule_id,
        event_id=row.event_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def fetch_delivery(
    session: Session, project_id: uuid.UUID, delivery_id: uuid.UUID
) -> schemas.DeliveryResponse:
    row = session.get(TriggerDelivery, delivery_id)
    if row is None or row.project_id != project_id:
        raise NotFoundError(f"trigger delivery {delivery_id} not found")
    return schemas.DeliveryResponse(count=1, delivery=delivery_view(row))


def query_deliveries(
    session: Session,
    project_id: uuid.UUID,
    query: schemas.DeliveryFilter | None,
    windowing: LogWindowing | None,
) -> schemas.DeliveriesResponse:
    """The project's deliveries, newest first; by trigger, event id, or status (its state or its code)."""
    statement = select(TriggerDelivery).where(TriggerDelivery.project_id == project_id)
    if query is not None:
        if query.subscription_id is not None:
            statement = statement.where(TriggerDelivery.subscription_id == query.subscription_id)
        if query.schedule_id is not None:
            statement = statement.where(TriggerDelivery.schedule_id == query.schedule_id)
        if query.event_id is not None:
            statement = statement.where(TriggerDelivery.event_id == query.event_id)
        status = query.status
        if status is not None and status.message is not None:
            statement = statement.where(TriggerDelivery.status == status.message)
        if status is not None and status.code is not None:
            statement = statement.where(TriggerDelivery.status_code == status.code)
    window = fetch_log_window(session, statement, TriggerDelivery.created_at, TriggerDelivery.id, windowing)
    views = [delivery_view(row) for row in window.rows]
    return schemas.DeliveriesResponse(count=len(views), deliveries=views, windowing=window.windowing)
