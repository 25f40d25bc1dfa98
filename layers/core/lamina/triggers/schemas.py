"""Shapes of `/api/triggers/...`, after Agenta's (`agenta/_client/triggers`, `types/trigger_*`).

Lamina's additions, all optional: a schedule's `timezone`; a trigger's `evaluation` (start an evaluation run
instead of running an application); a subscription's `filters` (`{"$.payload.x": expected}`, all must hold).
A subscription's `connection_id` (Agenta's Composio connection) names where its events come from. Lamina has
one source, its own domain events (whose type `event_key` names: `x.y.z`, `x.*` or `*`), named by the nil UUID
LAMINA_EVENTS_CONNECTION_ID: Agenta's SDK requires the field, so it is always returned, and a create that omits
it (or sends the nil UUID) means Lamina's events.

References come back as Agenta's SDK declares them (`Reference.version` is a string): `agenta_data`.
"""

# No `from __future__ import annotations` here: pydantic would compile and evaluate each field's annotation
# string when the class is made, at the API function's cold start (see lamina.api.schemas.Model).

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field

from lamina.api.schemas import Body, Model, Reference
from lamina.events.keyset import LogWindowing, NextWindow

NAME_MAX = 200
EVENT_KEY_MAX = 200
MAX_FILTERS = 20
SCHEDULE_EVENT_KEY = "triggers.schedule.ticked"
LAMINA_EVENTS_CONNECTION_ID = uuid.UUID(int=0)

Tags = Annotated[dict[str, Any], Field(max_length=100)]
InputsFields = dict[str, Any] | Annotated[str, Field(max_length=500)]


class Selector(Model):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    key: Annotated[str, Field(max_length=NAME_MAX)] | None = None
    path: Annotated[str, Field(max_length=500)] | None = None


class TriggerTarget(Model):
    """What a trigger runs, and with which inputs (shared by schedules and subscriptions)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    # Maps the trigger's context (`$.payload.x`, `$.event.event_id`, ...) to the application's inputs.
    inputs_fields: InputsFields | None = None
    # The application revision to run, as the registry's retrieve names it (`application_revision`,
    # `application` + `environment`, ...); `selector.key` is the application's slug beside an environment.
    references: dict[str, Reference | None] | None = None
    selector: Selector | None = None
    # Or: start an evaluation run; the `data` of `POST /api/simple/evaluations/` (testset, application and
    # evaluator steps, ...).
    evaluation: dict[str, Any] | None = None


class TriggerScheduleData(TriggerTarget):
    event_key: Annotated[str, Field(min_length=1, max_length=EVENT_KEY_MAX)] = SCHEDULE_EVENT_KEY
    # A 5-field cron expression (minute hour day-of-month month day-of-week), read in `timezone`.
    schedule: Annotated[str, Field(max_length=200)]
    timezone: Annotated[str, Field(max_length=100)] | None = None
    # [start_time, end_time): a bound without an offset is in the schedule's time zone.
    start_time: datetime | None = None
    end_time: datetime | None = None


class TriggerSubscriptionData(TriggerTarget):
    event_key: Annotated[str, Field(min_length=1, max_length=EVENT_KEY_MAX)]
    trigger_config: dict[str, Any] | None = None
    filters: Annotated[dict[str, Any], Field(max_length=MAX_FILTERS)] | None = None


class ScheduleFlags(Model):
    model_config = ConfigDict(extra="ignore", defer_build=True)

    is_active: bool = True


class SubscriptionFlags(Model):
    model_config = ConfigDict(extra="ignore", defer_build=True)

    is_active: bool = True
    is_valid: bool = True
    # Capture-and-skip: deliveries record the resolved inputs, nothing runs.
    is_test: bool = False


class Header(Model):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: Annotated[str, Field(max_length=NAME_MAX)] | None = None
    description: Annotated[str, Field(max_length=2000)] | None = None
    tags: Tags | None = None
    meta: Tags | None = None


class TriggerScheduleCreate(Header):
    data: TriggerScheduleData
    flags: ScheduleFlags | None = None


class TriggerScheduleEdit(TriggerScheduleCreate):
    id: uuid.UUID | None = None


class TriggerSubscriptionCreate(Header):
    connection_id: uuid.UUID | None = None
    data: TriggerSubscriptionData
    flags: SubscriptionFlags | None = None


class TriggerSubscriptionEdit(TriggerSubscriptionCreate):
    id: uuid.UUID | None = None


class ScheduleCreateBody(Body):
    schedule: TriggerScheduleCreate


class ScheduleEditBody(Body):
    schedule: TriggerScheduleEdit


class SubscriptionCreateBody(Body):
    subscription: TriggerSubscriptionCreate


class SubscriptionEditBody(Body):
    subscription: TriggerSubscriptionEdit


class ScheduleFilter(Model):
    model_config = ConfigDict(extra="ignore", defer_build=True)

    name: Annotated[str, Field(max_length=NAME_MAX)] | None = None
    event_key: Annotated[str, Field(max_length=EVENT_KEY_MAX)] | None = None


class SubscriptionFilter(ScheduleFilter):
    connection_id: uuid.UUID | None = None


class ScheduleQueryBody(Body):
    schedule: ScheduleFilter | None = None
    windowing: LogWindowing | None = None


class SubscriptionQueryBody(Body):
    subscription: SubscriptionFilter | None = None
    windowing: LogWindowing | None = None


class Lifecycle(Model):
    id: uuid.UUID
    name: str | None = None
    description: str | None = None
    tags: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None
    created_by_id: str | None = None
    updated_by_id: str | None = None
    deleted_by_id: str | None = None


class TriggerScheduleView(Lifecycle):
    data: dict[str, Any]
    flags: ScheduleFlags
    # Lamina's: when it fired last and fires next (null: stopped or past its end time).
    last_tick_at: datetime | None = None
    next_tick_at: datetime | None = None


class TriggerSubscriptionView(Lifecycle):
    connection_id: uuid.UUID = LAMINA_EVENTS_CONNECTION_ID
    trigger_id: str | None = None
    data: dict[str, Any]
    flags: SubscriptionFlags


class ScheduleResponse(Model):
    count: int
    schedule: TriggerScheduleView | None = None


class SchedulesResponse(Model):
    count: int
    schedules: list[TriggerScheduleView]
    windowing: NextWindow | None = None


class SubscriptionResponse(Model):
    count: int
    subscription: TriggerSubscriptionView | None = None


class SubscriptionsResponse(Model):
    count: int
    subscriptions: list[TriggerSubscriptionView]
    windowing: NextWindow | None = None


def agenta_data(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored trigger's (or delivery's) `data` as Agenta's SDK reads it: each reference's `version` a string.

    Stored as the registry takes it (an integer); the SDK's `Reference.version` is `str` and its models refuse
    an integer.
    """
    if not data or not isinstance(data.get("references"), dict):
        return data
    references = {
        name: (
            {**reference, "version": str(reference["version"])}
            if isinstance(reference, dict) and reference.get("version") is not None
            else reference
        )
        for name, reference in data["references"].items()
    }
    return {**data, "references": references}


# ---------------------------------------------------------------- deliveries


class DeliveryStatus(Model):
    """Agenta's Status: `message` is the state (pending, running, success, dispatched, skipped, failure)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    timestamp: datetime | None = None
    type: str | None = None
    code: Annotated[str, Field(max_length=20)] | None = None
    message: Annotated[str, Field(max_length=2000)] | None = None
    stacktrace: str | None = None


class DeliveryFilter(Model):
    model_config = ConfigDict(extra="ignore", defer_build=True)

    status: DeliveryStatus | None = None
    subscription_id: uuid.UUID | None = None
    schedule_id: uuid.UUID | None = None
    event_id: Annotated[str, Field(max_length=200)] | None = None


class DeliveryQueryBody(Body):
    delivery: DeliveryFilter | None = None
    windowing: LogWindowing | None = None


class TriggerDeliveryView(Model):
    id: uuid.UUID
    status: DeliveryStatus
    # event_key, references, inputs, result, error, is_test (Agenta's TriggerDeliveryData).
    data: dict[str, Any] | None = None
    subscription_id: uuid.UUID | None = None
    schedule_id: uuid.UUID | None = None
    event_id: str
    created_at: datetime | None = None
    updated_at: datetime | None = None


class DeliveryResponse(Model):
    count: int
    delivery: TriggerDeliveryView | None = None


class DeliveriesResponse(Model):
    count: int
    deliveries: list[TriggerDeliveryView]
    windowing: NextWindow | None = None
