"""Response shapes of `/api/events/...`."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from lamina.api.schemas import Model


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
