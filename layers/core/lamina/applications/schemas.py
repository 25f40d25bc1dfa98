"""Request bodies of the registry routes (kept out of models.py so routes import no SQLAlchemy)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import Field

from lamina.api.schemas import Body, Reference, Windowing

SLUG_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_\-.]{0,199}$"
Slug = Annotated[str, Field(pattern=SLUG_PATTERN, description="letters, digits, `_`, `-`, `.`")]
Name = Annotated[str, Field(max_length=200)]
MAX_MESSAGE_LENGTH = 10_000
CommitMessage = Annotated[str, Field(max_length=MAX_MESSAGE_LENGTH)]


class ApplicationFields(Body):
    slug: Slug
    name: Name | None = None
    description: str | None = None
    flags: dict[str, Any] | None = None
    tags: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None


class ApplicationCreate(Body):
    application: ApplicationFields


class ApplicationEdits(Body):
    id: uuid.UUID | None = None
    slug: Slug | None = None
    name: Name | None = None
    description: str | None = None
    flags: dict[str, Any] | None = None
    tags: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None


class ApplicationEdit(Body):
    application: ApplicationEdits


class ApplicationFilter(Body):
    slug: str | None = None
    flags: dict[str, Any] | None = None
    tags: dict[str, Any] | None = None


class ApplicationQuery(Body):
    application: ApplicationFilter | None = None
    application_refs: list[Reference] | None = None
    include_archived: bool = False
    windowing: Windowing | None = None


class VariantFields(Body):
    application_id: uuid.UUID
    slug: Slug
    name: Name | None = None
    description: str | None = None
    flags: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None


class VariantCreate(Body):
    application_variant: VariantFields


class VariantFilter(Body):
    application_id: uuid.UUID | None = None
    slug: str | None = None


class VariantQuery(Body):
    application_variant: VariantFilter | None = None
    application_ref: Reference | None = None
    include_archived: bool = False
    windowing: Windowing | None = None


class ForkedVariant(Body):
    slug: Slug
    name: Name | None = None
    description: str | None = None


class ForkedRevision(Body):
    message: CommitMessage | None = None


class VariantFork(Body):
    """Fork from a revision (or a variant's latest revision) into a new variant of the same application."""

    application_variant_ref: Reference | None = None
    application_revision_ref: Reference | None = None
    application_variant: ForkedVariant
    application_revision: ForkedRevision | None = None


class RevisionFields(Body):
    application_variant_id: uuid.UUID
    message: CommitMessage | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class RevisionCommit(Body):
    application_revision: RevisionFields


class RevisionRetrieve(Body):
    application_ref: Reference | None = None
    application_variant_ref: Reference | None = None
    application_revision_ref: Reference | None = None
    environment_ref: Reference | None = None
    # The application's slug, as Agenta's SDK names it next to an environment reference.
    key: str | None = None


class RevisionLog(Body):
    application_ref: Reference | None = None
    application_variant_ref: Reference | None = None
    application_revision_ref: Reference | None = None
    depth: Annotated[int, Field(ge=1, le=1000)] | None = None


class RevisionFilter(Body):
    application_id: uuid.UUID | None = None
    application_variant_id: uuid.UUID | None = None


class RevisionQuery(Body):
    application_revision: RevisionFilter | None = None
    application_ref: Reference | None = None
    application_variant_ref: Reference | None = None
    windowing: Windowing | None = None


class RevisionDeploy(Body):
    """Deploy a revision — or, to roll back, whatever an earlier environment revision deployed."""

    application_revision_ref: Reference | None = None
    application_variant_ref: Reference | None = None
    environment_revision_ref: Reference | None = None
    application_ref: Reference | None = None
    environment_ref: Reference
    message: CommitMessage | None = None


class EnvironmentLog(Body):
    environment_ref: Reference
    application_ref: Reference | None = None
    key: str | None = None
    windowing: Windowing | None = None


class EnvironmentQuery(Body):
    environment_ref: Reference | None = None
    application_ref: Reference | None = None
    key: str | None = None


class SimpleApplicationFields(Body):
    slug: Slug
    name: Name | None = None
    description: str | None = None
    flags: dict[str, Any] | None = None
    tags: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None
    data: dict[str, Any] | None = None
    message: CommitMessage | None = None


class SimpleApplicationCreate(Body):
    application: SimpleApplicationFields


class SimpleApplicationEdits(Body):
    id: uuid.UUID | None = None
    name: Name | None = None
    description: str | None = None
    flags: dict[str, Any] | None = None
    tags: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None
    data: dict[str, Any] | None = None
    message: CommitMessage | None = None


class SimpleApplicationEdit(Body):
    application: SimpleApplicationEdits
