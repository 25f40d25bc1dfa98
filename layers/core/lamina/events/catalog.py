"""Every domain event type, declared once with the Pydantic model of its payload.

Webhook receivers depend on these payloads (`GET /api/events/types` publishes their JSON Schemas), so
`stage_event` refuses a type not declared here or a payload that does not match its model: that is a
programming error, raised where it is made. Event types read `<domain>.<object>.<verb>`.

Adding an event: a member of `EventType`, a payload model (or an existing one), one `EventSpec` in _CATALOG.
A revisioned-artifact kind (`lamina.artifacts.kind.ArtifactKind`) declares its family of events itself.
Changing a payload: add fields; never rename or remove one a receiver may read.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class EventContractError(TypeError):
    """An event type not in the catalog, or a payload that does not match its type's model."""


class EventType(StrEnum):
    ORGANIZATION_CREATED = "tenancy.organization.created"
    PROJECT_CREATED = "tenancy.project.created"
    MEMBER_ADDED = "tenancy.member.added"
    SECRET_CREATED = "secrets.secret.created"
    SECRET_UPDATED = "secrets.secret.updated"
    SECRET_DELETED = "secrets.secret.deleted"
    WEBHOOK_SUBSCRIPTION_TESTED = "webhooks.subscriptions.tested"
    TRACING_ERRORS_THRESHOLD_EXCEEDED = "tracing.errors.threshold_exceeded"
    EVALUATION_STARTED = "evaluations.run.started"
    EVALUATION_FINISHED = "evaluations.run.finished"


class EventPayload(BaseModel):
    """A payload: exactly the declared fields (a misspelt key is a bug, not a new field)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Snapshot(BaseModel):
    """An object as the API shows it at the time of the event; fields the API adds later pass through."""

    model_config = ConfigDict(extra="allow", frozen=True)


# ---------------------------------------------------------------- tenancy


class OrganizationCreated(EventPayload):
    """A user's personal organization, with its workspace and default project, was created."""

    organization_id: uuid.UUID
    project_id: uuid.UUID
    user_id: uuid.UUID


class ProjectCreated(EventPayload):
    """A project was created in a workspace."""

    project_id: uuid.UUID
    name: str


class MemberAdded(EventPayload):
    """A user was given a role in a workspace."""

    workspace_id: uuid.UUID
    user_id: uuid.UUID
    role: str = Field(description="owner, admin, editor, deployer or viewer")


# ---------------------------------------------------------------- secrets


class SecretChanged(EventPayload):
    """A secret was created, updated or deleted. Never carries the value."""

    secret_id: uuid.UUID
    name: str


# ---------------------------------------------------------------- webhooks


class WebhookSubscriptionTested(EventPayload):
    """Sent by `POST /api/webhooks/subscriptions/test` to that subscription only, to check the receiver."""

    subscription_id: uuid.UUID
    name: str | None = None
    tested_by: str | None = None


# ---------------------------------------------------------------- tracing


class TraceErrorsThresholdExceeded(EventPayload):
    """A project's stored error spans within one window reached its threshold (one event per window)."""

    project_id: uuid.UUID
    window_start: datetime
    window_end: datetime
    errors: int = Field(description="error spans stored in the window so far")
    threshold: int
    sample_trace_ids: list[str] = Field(description="a few traces with an error span, to look at first")


# ---------------------------------------------------------------- evaluations


class EvaluationStarted(EventPayload):
    """An evaluation run was started (or its failed scenarios re-run): its scenarios are queued."""

    run_id: uuid.UUID
    name: str | None = None
    scenarios: int = Field(description="scenarios queued by this start")
    trigger_id: uuid.UUID | None = None


class EvaluationFinished(EventPayload):
    """Every scenario of an evaluation run reached a terminal state (or the run was stopped)."""

    run_id: uuid.UUID
    name: str | None = None
    status: str = Field(description="success, errors, failure or cancelled")
    counts: dict[str, int] = Field(description="scenarios by status")


# ---------------------------------------------------------------- the catalog


@dataclass(frozen=True)
class EventSpec:
    event_type: str
    payload: type[EventPayload]
    description: str


# Every declared event type. The fixed ones are listed here; each revisioned-artifact kind declares its own
# family (`lamina.events.artifact_events`) when it is defined, so a new kind cannot stage undeclared events.
_CATALOG: dict[str, EventSpec] = {
    spec.event_type: spec
    for spec in (
        EventSpec(
            EventType.ORGANIZATION_CREATED, OrganizationCreated, "A personal organization was created."
        ),
        EventSpec(EventType.PROJECT_CREATED, ProjectCreated, "A project was created."),
        EventSpec(EventType.MEMBER_ADDED, MemberAdded, "A member was added to a workspace."),
        EventSpec(EventType.SECRET_CREATED, SecretChanged, "A secret was created."),
        EventSpec(EventType.SECRET_UPDATED, SecretChanged, "A secret's value or description changed."),
        EventSpec(EventType.SECRET_DELETED, SecretChanged, "A secret was deleted."),
        EventSpec(
            EventType.WEBHOOK_SUBSCRIPTION_TESTED,
            WebhookSubscriptionTested,
            "A webhook subscription was tested (delivered to that subscription only).",
        ),
        EventSpec(
            EventType.TRACING_ERRORS_THRESHOLD_EXCEEDED,
            TraceErrorsThresholdExceeded,
            "A project's error spans in a short window reached its threshold.",
        ),
        EventSpec(EventType.EVALUATION_STARTED, EvaluationStarted, "An evaluation run was started."),
        EventSpec(EventType.EVALUATION_FINISHED, EvaluationFinished, "An evaluation run finished."),
    )
}


def declare(*specs: EventSpec) -> None:
    """Add event types to the catalog; declaring a type twice with another payload model is an error."""
    for spec in specs:
        known = _CATALOG.get(spec.event_type)
        if known is not None and known.payload.model_json_schema() != spec.payload.model_json_schema():
            raise EventContractError(f"{spec.event_type} is already declared with another payload")
        _CATALOG[spec.event_type] = spec


def spec_of(type: str) -> EventSpec:
    """The catalog entry of `type`; EventContractError for a type that is not declared."""
    try:
        return _CATALOG[str(type)]
    except KeyError:
        raise EventContractError(
            f"unknown event type {type!r}: declare it in lamina.events.catalog"
        ) from None


def validated_payload(type: str, payload: Mapping[str, Any] | EventPayload) -> dict[str, Any]:
    """The payload checked against its type's model, as the JSON object that is sent."""
    model = spec_of(type).payload
    if isinstance(payload, EventPayload):
        if not isinstance(payload, model):
            raise EventContractError(
                f"{type} carries a {model.__name__} payload, not a {payload.__class__.__name__}"
            )
        return payload.model_dump(mode="json")
    try:
        return model.model_validate(payload).model_dump(mode="json")
    except ValidationError as error:
        raise EventContractError(f"payload of {type} does not match {model.__name__}: {error}") from error


def event_type_schemas() -> list[dict[str, Any]]:
    """Each event type with its description and the JSON Schema of its payload (what webhooks receive)."""
    return [
        {
            "type": str(spec.event_type),
            "description": spec.description,
            "schema": spec.payload.model_json_schema(),
        }
        for spec in _CATALOG.values()
    ]
