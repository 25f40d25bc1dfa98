"""`/api/events/...`: the domain event types (for webhook receivers), the project's event log, its retention."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from lamina.api.deps import ProjectsManager, ProjectViewer, SessionDep
from lamina.api.routing import DeferredRouter
from lamina.events import schemas
from lamina.events.schemas import EventTypeList

if TYPE_CHECKING:
    from lamina.events import catalog, log
else:
    from lamina.lazy import lazy_module

    catalog = lazy_module("lamina.events.catalog")
    log = lazy_module("lamina.events.log")

router = DeferredRouter(tags=["events"])


@router.get("/events/types", response_model=EventTypeList)
def list_event_types(principal: ProjectViewer) -> EventTypeList:
    # Each artifact kind declares its event family where it is defined: load the kinds the API serves.
    importlib.import_module("lamina.applications.service")
    types = catalog.event_type_schemas()
    return EventTypeList.model_validate({"count": len(types), "event_types": types})


@router.post("/events/query", response_model=schemas.EventsQueryResponse)
def query_events(
    body: schemas.EventsQuery, session: SessionDep, principal: ProjectViewer
) -> schemas.EventsQueryResponse:
    """The project's recorded events, filtered by type (`x.y.z` or `x.*`) and id, windowed by time."""
    return log.query_events(session, principal.project_id, body)


@router.get("/events/settings", response_model=schemas.EventSettingsResponse)
def fetch_event_settings(session: SessionDep, principal: ProjectViewer) -> schemas.EventSettingsResponse:
    return schemas.EventSettingsResponse(settings=log.event_settings(session, principal.project_id))


@router.put("/events/settings", response_model=schemas.EventSettingsResponse)
def edit_event_settings(
    body: schemas.EventSettingsBody, session: SessionDep, principal: ProjectsManager
) -> schemas.EventSettingsResponse:
    """How many days the project's events and trigger deliveries are kept (null: the default)."""
    return schemas.EventSettingsResponse(
        settings=log.set_event_settings(session, principal.project_id, body.settings)
    )
