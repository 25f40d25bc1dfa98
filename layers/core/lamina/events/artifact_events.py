"""The events every revisioned-artifact kind emits, declared once for all kinds.

An application, a test set or an evaluator changes the same ways (created, edited, archived; a variant created,
forked, archived; a revision committed or deployed), and its payloads name their fields after the kind
(`application_id`, `testset_variant_id`, ...). So the payload models are built here from the kind's name and
its domain, and `ArtifactKind` declares them when it is defined: a new kind never stages an undeclared event.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field, create_model

from lamina.events.catalog import EventPayload, EventSpec, Snapshot


class ArtifactSnapshot(Snapshot):
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


class EnvironmentSnapshot(Snapshot):
    id: uuid.UUID
    slug: str
    name: str | None = None


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _payload(model_name: str, doc: str, **fields: Any) -> type[EventPayload]:
    model = create_model(model_name, __base__=EventPayload, __doc__=doc, **fields)
    return model


def artifact_event_specs(domain: str, name: str) -> list[EventSpec]:
    """The event types and payload models of the artifact kind `name` ("application") in `domain`."""
    camel, variant, revision = _camel(name), f"{name}_variant", f"{name}_revision"
    variant_fields: dict[str, Any] = dict(
        id=(uuid.UUID, ...),
        slug=(str, ...),
        name=(str | None, None),
        description=(str | None, None),
        flags=(dict[str, Any], Field(default_factory=dict)),
        meta=(dict[str, Any], Field(default_factory=dict)),
        artifact_id=(uuid.UUID | None, None),
        forked_from_revision_id=(uuid.UUID | None, None),
        created_at=(datetime | None, None),
        created_by=(str | None, None),
        archived_at=(datetime | None, None),
        **{f"{name}_id": (uuid.UUID | None, None)},
    )
    variant_snapshot = create_model(f"{camel}VariantSnapshot", __base__=Snapshot, **variant_fields)
    changed = _payload(
        f"{camel}Changed",
        f"A {name} was created or edited; carries it as it is now.",
        **{name: (ArtifactSnapshot, ...)},
    )
    archive_toggled = _payload(
        f"{camel}ArchiveToggled",
        f"A {name} was archived or unarchived.",
        slug=(str, ...),
        **{f"{name}_id": (uuid.UUID, ...)},
    )
    variant_created = _payload(
        f"{camel}VariantCreated", f"A variant of a {name} was created.", **{variant: (variant_snapshot, ...)}
    )
    variant_toggled = _payload(
        f"{camel}VariantArchiveToggled",
        "A variant was archived or unarchived.",
        **{f"{variant}_id": (uuid.UUID, ...)},
    )
    variant_forked = _payload(
        f"{camel}VariantForked",
        "A variant was created from another variant's revision, whose data became its first revision.",
        source_revision_id=(uuid.UUID, ...),
        **{f"{variant}_id": (uuid.UUID, ...), f"{revision}_id": (uuid.UUID, ...)},
    )
    committed = _payload(
        f"{camel}RevisionCommitted",
        "A new immutable revision of a variant was committed.",
        version=(int, ...),
        slug=(str, ...),
        message=(str | None, None),
        **{
            f"{name}_id": (uuid.UUID, ...),
            f"{variant}_id": (uuid.UUID, ...),
            f"{revision}_id": (uuid.UUID, ...),
        },
    )
    deployed = _payload(
        f"{camel}RevisionDeployed",
        f"An environment now serves a {name} revision (a deploy, or a rollback to an earlier one).",
        environment=(EnvironmentSnapshot, ...),
        environment_revision_id=(uuid.UUID, ...),
        environment_revision_version=(int, ...),
        rollback=(bool, ...),
        **{
            f"{name}_id": (uuid.UUID, ...),
            f"{variant}_id": (uuid.UUID, ...),
            f"{revision}_id": (uuid.UUID, ...),
            f"{revision}_version": (int, ...),
        },
    )
    return [
        EventSpec(f"{domain}.{name}.created", changed, f"A {name} was created."),
        EventSpec(f"{domain}.{name}.updated", changed, f"A {name} was edited."),
        EventSpec(f"{domain}.{name}.archived", archive_toggled, f"A {name} was archived."),
        EventSpec(f"{domain}.{name}.unarchived", archive_toggled, f"A {name} was unarchived."),
        EventSpec(f"{domain}.variant.created", variant_created, "A variant was created."),
        EventSpec(f"{domain}.variant.archived", variant_toggled, "A variant was archived."),
        EventSpec(f"{domain}.variant.unarchived", variant_toggled, "A variant was unarchived."),
        EventSpec(f"{domain}.variant.forked", variant_forked, "A variant was forked from a revision."),
        EventSpec(f"{domain}.revision.committed", committed, "A revision was committed to a variant."),
        EventSpec(
            f"{domain}.revision.deployed", deployed, f"A {name} revision was deployed to an environment."
        ),
    ]
