"""Response shapes of `/api/events/...`."""

# No `from __future__ import annotations` here: pydantic would compile and evaluate each field's annotation
# string when the class is made, at the API function's cold start (see lamina.api.schemas.Model).

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field

from lamina.api.schemas import Body, Model
from lamina.events.keyset import LogWindowing, NextWindow


class EventTypeDescription(Model):
    """One domain event type and the JSON Schema of the payload its envelopes (and webhooks) carry."""

    model_config = ConfigDict(populate_by_name=True, defer_build=True)

    type: str = Field(examples=["applications.revision.committed"])
    description: str
    # Named `schema` on the wire; `schema` itself would shadow a BaseModel attribute.
    payload_schema: dict[str, Any] = Field(alias="schema")


class EventTypeList(Model):
    count: int
    event_types: list[EventTypeDescription]


# ---------------------------------------------------------------- the event log (`POST /api/events/query`)

EVENT_TYPE_PATTERN_MAX = 200
MAX_EVENT_TYPES = 50


class EventFilter(Model):
    """Agenta's EventQuery: `event_type` exact (or `prefix.*`), `event_id`; Lamina adds `event_types` (any of).

    `request_type` and `request_id` are accepted for Agenta's clients: Lamina records no request identity.
    """

    model_config = ConfigDict(extra="ignore", defer_build=True)

    event_type: Annotated[str, Field(min_length=1, max_length=EVENT_TYPE_PATTERN_MAX)] | None = None
    event_types: (
        Annotated[
            list[Annotated[str, Field(min_length=1, max_length=EVENT_TYPE_PATTERN_MAX)]],
            Field(max_length=MAX_EVENT_TYPES),
        ]
        | None
    ) = None
    event_id: uuid.UUID | None = None
    request_type: str | None = None
    request_id: str | None = None


class EventsQuery(Body):
    event: EventFilter | None = None
    windowing: LogWindowing | None = None


class EventView(Model):
    """A recorded event as Agenta's `Event`: `attributes` is the payload its envelope carried."""

    event_id: uuid.UUID
    request_id: str
    request_type: str = "unknown"
    event_type: str
    timestamp: datetime
    status_code: str | None = None
    status_message: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime | None = None


class EventsQueryResponse(Model):
    count: int
    events: list[EventView]
    windowing: NextWindow | None = None


class EventSettingsEdit(Model):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    # None: back to the deployment's default (Settings.events_retention_days).
    retention_days: Annotated[int, Field(ge=1, le=3650)] | None = None


class EventSettingsBody(Body):
    settings: EventSettingsEdit


class EventSettingsView(Model):
    retention_days: int
    is_default: bool


class EventSettingsResponse(Model):
    count: int = 1
    settings: EventSettingsView
