"""Request bodies of the registry routes (kept out of models.py so routes import no SQLAlchemy)."""

# No `from __future__ import annotations` here: pydantic would compile and evaluate each field's annotation
# string when the class is made, at the API function's cold start (see lamina.api.schemas.Model).

import uuid
from typing import Any

from pydantic import Field, model_validator

from lamina.api.schemas import Body, Reference, Windowing
from lamina.artifacts.schemas import (
    ArtifactHeader,
    ArtifactHeaderEdits,
    CommitMessage,
    ForkedRevision,
    ForkedVariant,
    LogDepth,
    Name,
    RevisionSlug,
    Slug,
)

# Agenta's SDK names an application next to an environment by a key: `<application slug>.revision`.
APPLICATION_KEY_SUFFIX = ".revision"


class ApplicationFields(ArtifactHeader):
    pass


class ApplicationCreate(Body):
    application: ApplicationFields


class ApplicationEdits(ArtifactHeaderEdits):
    pass


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
    # Agenta's form: the variants of any of these applications.
    application_refs: list[Reference] | None = None
    include_archived: bool = False
    windowing: Windowing | None = None


class VariantFork(Body):
    """Fork from a revision (or a variant's latest revision) into a new variant of the same application."""

    application_variant_ref: Reference | None = None
    application_revision_ref: Reference | None = None
    application_variant: ForkedVariant
    application_revision: ForkedRevision | None = None


class RevisionFields(Body):
    application_variant_id: uuid.UUID
    # Agenta's SDK also names the variant's application (checked) and the new revision's slug (else a random one).
    application_id: uuid.UUID | None = None
    slug: RevisionSlug | None = None
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
    # Agenta resolves references embedded in revision data; Lamina's revision data embeds none, so a
    # revision is always answered resolved, whatever this says.
    resolve: bool | None = None


class RevisionsLogIds(Body):
    """Agenta's log request (`ApplicationRevisionsLog`): ids, under Agenta's and the generic artifact names."""

    application_id: uuid.UUID | None = None
    artifact_id: uuid.UUID | None = None
    application_variant_id: uuid.UUID | None = None
    variant_id: uuid.UUID | None = None
    application_revision_id: uuid.UUID | None = None
    revision_id: uuid.UUID | None = None
    depth: LogDepth | None = None


class RevisionLog(Body):
    application_ref: Reference | None = None
    application_variant_ref: Reference | None = None
    application_revision_ref: Reference | None = None
    depth: LogDepth | None = None
    # Agenta's form of the same request; turned into the references above.
    application_revisions: RevisionsLogIds | None = None

    @model_validator(mode="after")
    def _agenta_ids_as_references(self) -> "RevisionLog":
        ids = self.application_revisions
        if ids is None:
            return self
        if self.application_ref or self.application_variant_ref or self.application_revision_ref:
            raise ValueError("give either application_revisions or the *_ref fields, not both")
        application_id = ids.application_id or ids.artifact_id
        variant_id = ids.application_variant_id or ids.variant_id
        revision_id = ids.application_revision_id or ids.revision_id
        self.application_ref = Reference(id=application_id) if application_id else None
        self.application_variant_ref = Reference(id=variant_id) if variant_id else None
        self.application_revision_ref = Reference(id=revision_id) if revision_id else None
        self.depth = self.depth or ids.depth
        self.application_revisions = None
        return self


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
    # Agenta's way to name the application: `<application slug>.revision`.
    key: str | None = None
    message: CommitMessage | None = None

    @model_validator(mode="after")
    def _key_as_application_ref(self) -> "RevisionDeploy":
        if self.key and self.application_ref is None:
            self.application_ref = Reference(slug=self.key.removesuffix(APPLICATION_KEY_SUFFIX))
        return self


class EnvironmentLog(Body):
    environment_ref: Reference
    application_ref: Reference | None = None
    key: str | None = None
    windowing: Windowing | None = None


class EnvironmentFilter(Body):
    """Agenta's `SimpleEnvironmentQuery`: Lamina's environments are matched by slug; the rest is accepted."""

    slug: str | None = None
    slugs: list[str] | None = None
    name: str | None = None
    description: str | None = None
    flags: dict[str, Any] | None = None
    tags: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None


class EnvironmentQuery(Body):
    environment_ref: Reference | None = None
    application_ref: Reference | None = None
    key: str | None = None
    # Agenta's forms: a filter and a list of references. All three forms end up in `environment_refs`.
    environment: EnvironmentFilter | None = None
    environment_refs: list[Reference] | None = None
    # Lamina's environments are never archived.
    include_archived: bool | None = None

    @model_validator(mode="after")
    def _one_list_of_environment_refs(self) -> "EnvironmentQuery":
        refs = list(self.environment_refs or [])
        if self.environment_ref is not None:
            refs.append(self.environment_ref)
        if self.environment is not None:
            slugs = [self.environment.slug, *(self.environment.slugs or [])]
            refs.extend(Reference(slug=slug) for slug in slugs if slug)
        unique: dict[tuple[uuid.UUID | None, str | None], Reference] = {}
        for ref in refs:
            unique.setdefault((ref.id, ref.slug), ref)
        self.environment_refs = list(unique.values()) or None
        self.environment_ref = None
        return self


class SimpleApplicationFields(ArtifactHeader):
    data: dict[str, Any] | None = None
    message: CommitMessage | None = None


class SimpleApplicationCreate(Body):
    application: SimpleApplicationFields


class SimpleApplicationEdits(ArtifactHeaderEdits):
    data: dict[str, Any] | None = None
    message: CommitMessage | None = None


class SimpleApplicationEdit(Body):
    application: SimpleApplicationEdits


class WorkflowRevisionRetrieve(Body):
    """Agenta's `/workflows/revisions/retrieve` as its SDK sends it: RevisionRetrieve's references, by workflow names."""

    workflow_ref: Reference | None = None
    workflow_variant_ref: Reference | None = None
    workflow_revision_ref: Reference | None = None
    resolve: bool | None = None

    def as_application_retrieve(self) -> RevisionRetrieve:
        return RevisionRetrieve(
            application_ref=self.workflow_ref,
            application_variant_ref=self.workflow_variant_ref,
            application_revision_ref=self.workflow_revision_ref,
            resolve=self.resolve,
        )
