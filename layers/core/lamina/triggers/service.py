"""Schedules and event subscriptions: create, read, edit, start, stop, delete, query (project-scoped)."""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select

from lamina.db.base import utcnow
from lamina.errors import NotFoundError
from lamina.events.keyset import LogWindowing, fetch_log_window
from lamina.triggers import schemas
from lamina.triggers.errors import InvalidMappingError, InvalidTriggerError
from lamina.triggers.mapping import parse_path, validate_template
from lamina.triggers.models import TriggerSchedule, TriggerSubscription
from lamina.triggers.ticks import cadence

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from lamina.tenancy.principal import Principal

Trigger = TypeVar("Trigger", TriggerSchedule, TriggerSubscription)
# An event type (`applications.revision.committed`), a family (`applications.*`) or every type (`*`).
EVENT_KEY = re.compile(r"^(\*|[a-z0-9_-]+(\.[a-z0-9_-]+)*(\.\*)?)$")


# ---------------------------------------------------------------- validation


def check_target(target: schemas.TriggerTarget, *, is_test: bool = False) -> None:
    """A trigger runs one thing: an application (`references`) or an evaluation; its mapping must parse."""
    from lamina.services.references import retrieve_body

    if target.references and target.evaluation is not None:
        raise InvalidTriggerError("data: name either references (an application) or an evaluation, not both")
    if not target.references and target.evaluation is None and not is_test:
        raise InvalidTriggerError(
            "data: name what to run: references to an application revision, or an evaluation"
        )
    if target.references:
        refs = {name: ref.model_dump(exclude_none=True) for name, ref in target.references.items() if ref}
        retrieve_body(refs, None)  # unknown kinds of reference: a 422 naming them
    validate_template(target.inputs_fields, where="data.inputs_fields")


def check_event_key(event_key: str) -> None:
    if not EVENT_KEY.match(event_key):
        raise InvalidMappingError(
            f"data.event_key: {event_key!r} is not an event type, a family ('applications.*') or '*'"
        )


def check_filters(filters: dict[str, Any] | None) -> None:
    for path in filters or {}:
        try:
            parse_path(path)
        except InvalidMappingError as error:
            raise InvalidMappingError(f"data.filters: {error}") from None


# ---------------------------------------------------------------- shared row handling


def _header(row: Trigger, body: schemas.Header, principal: Principal) -> None:
    row.name = body.name
    row.description = body.description
    row.tags = dict(body.tags or {})
    row.meta = dict(body.meta or {})
    row.updated_by_id = principal.actor


def _get(session: Session, model: type[Trigger], project_id: uuid.UUID, trigger_id: uuid.UUID) -> Trigger:
    row = session.get(model, trigger_id)
    if row is None or row.project_id != project_id:
        kind = "schedule" if model is TriggerSchedule else "subscription"
        raise NotFoundError(f"trigger {kind} {trigger_id} not found")
    return row


def _lifecycle(row: TriggerSchedule | TriggerSubscription) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "tags": row.tags,
        "meta": row.meta,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "created_by_id": row.created_by_id,
        "updated_by_id": row.updated_by_id,
    }


# ---------------------------------------------------------------- schedules


def schedule_view(row: TriggerSchedule) -> schemas.TriggerScheduleView:
    return schemas.TriggerScheduleView(
        **_lifecycle(row),
        data=schemas.agenta_data(row.data) or {},
        flags=schemas.ScheduleFlags(is_active=row.is_active),
        last_tick_at=row.last_tick_at,
        next_tick_at=row.next_tick_at,
    )


def _apply_schedule(row: TriggerSchedule, body: schemas.TriggerScheduleCreate, principal: Principal) -> None:
    data = body.data
    check_target(data)
    when = cadence(data.schedule, data.timezone, data.start_time, data.end_time)
    _header(row, body, principal)
    row.data = data.model_dump(mode="json", exclude_none=True)
    row.cron, row.timezone = when.cron, when.timezone
    row.start_time, row.end_time = when.start_time, when.end_time
    row.is_active = body.flags.is_active if body.flags else True
    # From now on: a new or edited schedule never fires for ticks before it existed.
    row.next_tick_at = when.next_after(utcnow()) if row.is_active else None


def create_schedule(
    session: Session, principal: Principal, body: schemas.TriggerScheduleCreate
) -> schemas.TriggerScheduleView:
    row = TriggerSchedule(project_id=principal.project_id, created_by_id=principal.actor)
    _apply_schedule(row, body, principal)
    session.add(row)
    session.flush()
    return schedule_view(row)


def fetch_schedule(session: Session, principal: Principal, schedule_id: uuid.UUID) -> TriggerSchedule:
    return _get(session, TriggerSchedule, principal.project_id, schedule_id)


def edit_schedule(
    session: Session, principal: Principal, schedule_id: uuid.UUID, body: schemas.TriggerScheduleEdit
) -> schemas.TriggerScheduleView:
    row = fetch_schedule(session, principal, schedule_id)
    _apply_schedule(row, body, principal)
    session.flush()
    return schedule_view(row)


def toggle_schedule(
    session: Session, principal: Principal, schedule_id: uuid.UUID, active: bool
) -> schemas.TriggerScheduleView:
    """Start (from the next tick after now: ticks missed while stopped never fire) or stop a schedule."""
    row = fetch_schedule(session, principal, schedule_id)
    row.is_active = active
    row.updated_by_id = principal.actor
    row.next_tick_at = (
        cadence(row.cron, row.timezone, row.start_time, row.end_time).next_after(utcnow()) if active else None
    )
    session.flush()
    return schedule_view(row)


def delete_schedule(
    session: Session, principal: Principal, schedule_id: uuid.UUID
) -> schemas.TriggerScheduleView:
    """Delete the schedule (answered as it was); its deliveries stay in the log until retention."""
    row = fetch_schedule(session, principal, schedule_id)
    view = schedule_view(row)
    session.delete(row)
    return view


def query_schedules(
    session: Session,
    principal: Principal,
    query: schemas.ScheduleFilter | None,
    windowing: LogWindowing | None,
) -> schemas.SchedulesResponse:
    statement = select(TriggerSchedule).where(TriggerSchedule.project_id == principal.project_id)
    if query is not None and query.name is not None:
        statement = statement.where(TriggerSchedule.name == query.name)
    if query is not None and query.event_key is not None:
        statement = statement.where(TriggerSchedule.data["event_key"].astext == query.event_key)
    window = fetch_log_window(session, statement, TriggerSchedule.created_at, TriggerSchedule.id, windowing)
    views = [schedule_view(row) for row in window.rows]
    return schemas.SchedulesResponse(count=len(views), schedules=views, windowing=window.windowing)


# ---------------------------------------------------------------- subscriptions


def subscription_view(row: TriggerSubscription) -> schemas.TriggerSubscriptionView:
    return schemas.TriggerSubscriptionView(
        **_lifecycle(row),
        connection_id=row.connection_id or schemas.LAMINA_EVENTS_CONNECTION_ID,
        data=schemas.agenta_data(row.data) or {},
        flags=schemas.SubscriptionFlags(is_active=row.is_active, is_valid=row.is_valid, is_test=row.is_test),
    )


def _apply_subscription(
    row: TriggerSubscription, body: schemas.TriggerSubscriptionCreate, principal: Principal
) -> None:
    data, flags = body.data, body.flags or schemas.SubscriptionFlags()
    check_event_key(data.event_key)
    check_filters(data.filters)
    check_target(data, is_test=flags.is_test)
    _header(row, body, principal)
    row.data = data.model_dump(mode="json", exclude_none=True)
    row.event_key = data.event_key
    # The nil UUID is Lamina's own events, stored as no connection (what the events worker's fan-out matches).
    connection = body.connection_id
    row.connection_id = None if connection == schemas.LAMINA_EVENTS_CONNECTION_ID else connection
    row.is_active, row.is_test = flags.is_active, flags.is_test


def create_subscription(
    session: Session, principal: Principal, body: schemas.TriggerSubscriptionCreate
) -> schemas.TriggerSubscriptionView:
    row = TriggerSubscription(project_id=principal.project_id, created_by_id=principal.actor)
    _apply_subscription(row, body, principal)
    session.add(row)
    session.flush()
    return subscription_view(row)


def fetch_subscription(
    session: Session, principal: Principal, subscription_id: uuid.UUID
) -> TriggerSubscription:
    return _get(session, TriggerSubscription, principal.project_id, subscription_id)


def edit_subscription(
    session: Session,
    principal: Principal,
    subscription_id: uuid.UUID,
    body: schemas.TriggerSubscriptionEdit,
) -> schemas.TriggerSubscriptionView:
    row = fetch_subscription(session, principal, subscription_id)
    _apply_subscription(row, body, principal)
    session.flush()
    return subscription_view(row)


def toggle_subscription(
    session: Session, principal: Principal, subscription_id: uuid.UUID, active: bool
) -> schemas.TriggerSubscriptionView:
    row = fetch_subscription(session, principal, subscription_id)
    row.is_active = active
    row.updated_by_id = principal.actor
    session.flush()
    return subscription_view(row)


def delete_subscription(
    session: Session, principal: Principal, subscription_id: uuid.UUID
) -> schemas.TriggerSubscriptionView:
    """Delete the subscription (answered as it was); its deliveries stay in the log until retention."""
    row = fetch_subscription(session, principal, subscription_id)
    view = subscription_view(row)
    session.delete(row)
    return view


def set_subscription_valid(
    session: Session, principal: Principal, subscription_id: uuid.UUID, valid: bool
) -> schemas.TriggerSubscriptionView:
    """`revoke` (False): the subscription fires on nothing, whatever start/stop says, until `refresh` (True),
    which first checks it again as a create would: an event key, filters or target that no longer pass are
    a 422 and it stays revoked."""
    row = fetch_subscription(session, principal, subscription_id)
    if valid:
        data = schemas.TriggerSubscriptionData.model_validate(row.data)
        check_event_key(data.event_key)
        check_filters(data.filters)
        check_target(data, is_test=row.is_test)
    row.is_valid = valid
    row.updated_by_id = principal.actor
    session.flush()
    return subscription_view(row)


# How far back `test_subscription` looks for an event to try the subscription on.
TEST_EVENT_SCAN = 200


def test_subscription(
    session: Session, principal: Principal, body: schemas.TriggerSubscriptionCreate
) -> schemas.DeliveryResponse:
    """Try a subscription before saving it: on the project's latest stored event it matches (type and
    filters), record the delivery it would make, its inputs resolved, and run nothing (`is_test`).

    The delivery stays in the log (`/api/triggers/deliveries`); the subscription does not: it is created and
    deleted in this transaction, so the events worker never sees it. No matching event: count 0.
    """
    from lamina.events.models import EventRecord
    from lamina.triggers.deliveries import delivery_view
    from lamina.triggers.dispatch import matching_context, stage_delivery
    from lamina.triggers.models import TriggerDelivery

    flags = (body.flags or schemas.SubscriptionFlags()).model_copy(update={"is_test": True})
    row = TriggerSubscription(project_id=principal.project_id, created_by_id=principal.actor)
    _apply_subscription(row, body.model_copy(update={"flags": flags}), principal)
    session.add(row)
    session.flush()
    try:
        if row.connection_id is not None:  # an outside provider's events: none are stored here
            return schemas.DeliveryResponse(count=0, delivery=None)
        recent = session.execute(
            select(EventRecord)
            .where(EventRecord.project_id == principal.project_id)
            .order_by(EventRecord.occurred_at.desc())
            .limit(TEST_EVENT_SCAN)
        ).scalars()
        for event in recent:
            context = matching_context(row, str(event.id), event.type, event.occurred_at, event.payload)
            if context is None:
                continue
            delivery_id = stage_delivery(session, row, event_id=str(event.id), context=context)
            delivery = session.get(TriggerDelivery, delivery_id)
            assert delivery is not None  # a fresh subscription's first delivery
            return schemas.DeliveryResponse(count=1, delivery=delivery_view(delivery))
        return schemas.DeliveryResponse(count=0, delivery=None)
    finally:
        session.delete(row)
        session.flush()


def query_subscriptions(
    session: Session,
    principal: Principal,
    query: schemas.SubscriptionFilter | None,
    windowing: LogWindowing | None,
) -> schemas.SubscriptionsResponse:
    statement = select(TriggerSubscription).where(TriggerSubscription.project_id == principal.project_id)
    if query is not None and query.name is not None:
        statement = statement.where(TriggerSubscription.name == query.name)
    if query is not None and query.event_key is not None:
        statement = statement.where(TriggerSubscription.event_key == query.event_key)
    if query is not None and query.connection_id == schemas.LAMINA_EVENTS_CONNECTION_ID:
        statement = statement.where(TriggerSubscription.connection_id.is_(None))
    elif query is not None and query.connection_id is not None:
        statement = statement.where(TriggerSubscription.connection_id == query.connection_id)
    window = fetch_log_window(
        session, statement, TriggerSubscription.created_at, TriggerSubscription.id, windowing
    )
    views = [subscription_view(row) for row in window.rows]
    return schemas.SubscriptionsResponse(count=len(views), subscriptions=views, windowing=window.windowing)
