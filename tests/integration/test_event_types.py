"""`GET /api/events/types`: every domain event type with its payload's JSON Schema, for webhook receivers."""

from __future__ import annotations

from collections.abc import Callable

from tests.integration.api_client import (
    ApiClient,
    Tenant,
    api_env,
    cognito_pool,
    make_tenant,
    own_events_queue,
)

__all__ = ["api_env", "cognito_pool", "make_tenant", "own_events_queue"]


def test_event_types_publish_every_payload_schema(make_tenant: Callable[..., Tenant]) -> None:
    from lamina.events.artifact_events import artifact_event_specs
    from lamina.events.catalog import EventType

    # GIVEN a project's API key
    api = make_tenant().client
    # WHEN the event types are listed
    listed = api.get("/api/events/types").ok()
    # THEN every declared type is there, described, with the JSON Schema of its payload
    by_type = {item["type"]: item for item in listed["event_types"]}
    # (the fixed types, and the family the registry's artifact kind declares for itself; other kinds a test
    # defined may be declared in this process too)
    registry_family = {spec.event_type for spec in artifact_event_specs("applications", "application")}
    assert {event_type.value for event_type in EventType} | registry_family <= set(by_type)
    assert listed["count"] == len(by_type)
    deployed = by_type["applications.revision.deployed"]
    assert deployed["description"]
    assert deployed["schema"]["additionalProperties"] is False
    assert {"environment", "application_revision_id", "rollback"} <= set(deployed["schema"]["required"])
    assert deployed["schema"]["properties"]["application_revision_id"]["format"] == "uuid"
    # AND the route declares its response in the OpenAPI document, and needs a credential like every other
    operation = api.get("/api/openapi.json").ok()["paths"]["/api/events/types"]["get"]
    assert "$ref" in operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ApiClient().get("/api/events/types").status == 401
