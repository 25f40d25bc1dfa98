"""`GET /api/events/types`: the domain event types and their payloads' JSON Schemas, for webhook receivers."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from fastapi import APIRouter

from lamina.api.deps import ProjectViewer
from lamina.events.schemas import EventTypeList

if TYPE_CHECKING:
    from lamina.events import catalog
else:
    from lamina.lazy import lazy_module

    catalog = lazy_module("lamina.events.catalog")

router = APIRouter(tags=["events"])


@router.get("/events/types", response_model=EventTypeList)
def list_event_types(principal: ProjectViewer) -> EventTypeList:
    # Each artifact kind declares its event family where it is defined: load the kinds the API serves.
    importlib.import_module("lamina.applications.service")
    types = catalog.event_type_schemas()
    return EventTypeList.model_validate({"count": len(types), "event_types": types})
