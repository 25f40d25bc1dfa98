"""Every domain event type, declared once with the Pydantic model of its payload.

Webhook receivers depend on these payloads (`GET /api/events/types` publishes their JSON Schemas), so
`stage_event` refuses a type not declared here or a payload that does not match its model: that is a
programming error, raised where it is made. Event types read `<domain>.<object>.<verb>`.

Adding an event: a member of `EventType`, a payload model (or an existing one), one `EventSpec` in CATALOG.
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
    APPLICATION_CREATED = "applications.application.created"
    APPLICATION_UPDATED = "applications.application.updated"
    APPLICATION_ARCHIVED = "applications.application.archived"
    APPLICATION_UNARCHIVED = "applications.application.unarchived"
    VARIANT_CREATED = "applications.variant.created"
    VARIANT_ARCHIVED = "applications.variant.archived"
    VARIANT_UNARCHIVED = "applications.variant.unarchived"
    VARIANT_FORKED = "applications.variant.forked"
    REVISION_COMMITTED = "applications.revision.committed"
    REVISION_DEPLOYED = "applications.revision.deployed"


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


# ---------------------------------------------------------------- applications (the prompt registry)


class ApplicationSnapshot(Snapshot):
    id: uuid.UUID
    slug: str
    name: str | None = None
    description: str | None = None
    flags: dict[str, Any] = Field(default_factory=dict)
    tags: dict[str, Any] = Field(default_factory=dict)
    meta: dict[str, Any] = Field(default_factory=dict)
    project_id: uuid.UUID | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    created_by: str | None = None
    archived_at: datetime | None = None


class ApplicationChanged(EventPayload):
    """An application was created or edited; carries the application as it is now."""

    application: ApplicationSnapshot


class ApplicationArchiveToggled(EventPayload):
    """An application was archived or unarchived."""

    application_id: uuid.UUID
    slug: str


class VariantSnapshot(Snapshot):
    id: uuid.UUID
    slug: str
    name: str | None = None
    description: str | None = None
    flags: dict[str, Any] = Field(default_factory=dict)
    meta: dict[str, Any] = Field(default_factory=dict)
    application_id: uuid.UUID | None = None
    artifact_id: uuid.UUID | None = None
    forked_from_revision_id: uuid.UUID | None = None
    created_at: datetime | None = None
    created_by: str | None = None
    archived_at: datetime | None = None


class VariantCreated(EventPayload):
    """A variant of an application was created; carries the variant."""

    application_variant: VariantSnapshot


class VariantArchiveToggled(EventPayload):
    """A variant was archived or unarchived."""

    application_variant_id: uuid.UUID


class VariantForked(EventPayload):
    """A variant was created from another variant's revision, whose data became its first revision."""

    application_variant_id: uuid.UUID
    source_revision_id: uuid.UUID
    application_revision_id: uuid.UUID


class RevisionCommitted(EventPayload):
    """A new immutable revision of a variant was committed."""

    application_id: uuid.UUID
    application_variant_id: uuid.UUID
    application_revision_id: uuid.UUID
    version: int
    slug: str
    message: str | None = None


class EnvironmentSnapshot(Snapshot):
    id: uuid.UUID
    slug: str
    name: str | None = None


class RevisionDeployed(EventPayload):
    """An environment now serves an application revision (a deploy, or a rollback to an earlier one)."""

    environment: EnvironmentSnapshot
    environment_revision_id: uuid.UUID
    environment_revision_version: int
    application_id: uuid.UUID
    application_variant_id: uuid.UUID
    application_revision_id: uuid.UUID
    application_revision_version: int
    rollback: bool


# ---------------------------------------------------------------- the catalog


@dataclass(frozen=True)
class EventSpec:
    event_type: EventType
    payload: type[EventPayload]
    description: str


CATALOG: Mapping[EventType, EventSpec] = {
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
        EventSpec(EventType.APPLICATION_CREATED, ApplicationChanged, "An application was created."),
        EventSpec(EventType.APPLICATION_UPDATED, ApplicationChanged, "An application was edited."),
        EventSpec(EventType.APPLICATION_ARCHIVED, ApplicationArchiveToggled, "An application was archived."),
        EventSpec(
            EventType.APPLICATION_UNARCHIVED, ApplicationArchiveToggled, "An application was unarchived."
        ),
        EventSpec(EventType.VARIANT_CREATED, VariantCreated, "A variant was created."),
        EventSpec(EventType.VARIANT_ARCHIVED, VariantArchiveToggled, "A variant was archived."),
        EventSpec(EventType.VARIANT_UNARCHIVED, VariantArchiveToggled, "A variant was unarchived."),
        EventSpec(EventType.VARIANT_FORKED, VariantForked, "A variant was forked from a revision."),
        EventSpec(EventType.REVISION_COMMITTED, RevisionCommitted, "A revision was committed to a variant."),
        EventSpec(
            EventType.REVISION_DEPLOYED, RevisionDeployed, "A revision was deployed to an environment."
        ),
    )
}


def spec_of(type: EventType | str) -> EventSpec:
    """The catalog entry of `type`; EventContractError for a type that is not declared."""
    try:
        return CATALOG[EventType(type)]
    except ValueError:
        raise EventContractError(
            f"unknown event type {type!r}: declare it in lamina.events.catalog"
        ) from None


def validated_payload(type: EventType | str, payload: Mapping[str, Any] | EventPayload) -> dict[str, Any]:
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
            "type": spec.event_type.value,
            "description": spec.description,
            "schema": spec.payload.model_json_schema(),
        }
        for spec in CATALOG.values()
    ]
