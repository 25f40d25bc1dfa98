"""Response bodies of the registry routes: what each route returns, as its OpenAPI response schema (plain
dicts built by `lamina.artifacts.views`, checked as `lamina.artifacts.responses` says)."""

# No `from __future__ import annotations` here: pydantic would compile and evaluate each field's annotation
# string when the class is made, at the API function's cold start (see lamina.api.schemas.Model).

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from lamina.artifacts.responses import ArtifactOut, ArtifactRevisionOut, ArtifactVariantOut, Out, WindowingOut


# Agenta's revision `version` is a string on the wire (its SDK's models refuse an integer); stored as a number.
def _version_text(version: object) -> object:
    return version if version is None or isinstance(version, str) else str(version)


RevisionVersion = Annotated[str, BeforeValidator(_version_text)]


class ApplicationOut(ArtifactOut):
    pass


class VariantOut(ArtifactVariantOut):
    kind_id: uuid.UUID = Field(alias="application_id")


class RevisionOut(ArtifactRevisionOut[RevisionVersion, dict[str, Any]]):
    kind_id: uuid.UUID = Field(alias="application_id")
    kind_variant_id: uuid.UUID = Field(alias="application_variant_id")


class EnvironmentOut(Out):
    id: uuid.UUID
    slug: str
    name: str | None


class EnvironmentRevisionOut(Out):
    """One deployment: from `version` on, the environment serves `application_revision_id`."""

    id: uuid.UUID
    version: int
    environment_id: uuid.UUID
    environment_slug: str
    application_id: uuid.UUID
    application_variant_id: uuid.UUID
    application_revision_id: uuid.UUID
    message: str | None
    created_at: datetime | None
    created_by: str | None


class SimpleApplicationOut(ApplicationOut):
    """The header with the default variant's latest revision flattened in (null without one)."""

    variant_id: uuid.UUID | None
    revision_id: uuid.UUID | None
    version: RevisionVersion | None
    data: dict[str, Any] | None


class ApplicationResponse(Out):
    count: int
    application: ApplicationOut


class ApplicationsResponse(Out):
    count: int
    applications: list[ApplicationOut]
    windowing: WindowingOut | None = None


class VariantResponse(Out):
    count: int
    application_variant: VariantOut


class VariantsResponse(Out):
    count: int
    application_variants: list[VariantOut]
    windowing: WindowingOut | None = None


class ForkResponse(Out):
    count: int
    application_variant: VariantOut
    application_revision: RevisionOut


class RevisionResponse(Out):
    count: int
    application_revision: RevisionOut


class RetrieveResponse(Out):
    """The revision; by environment also the environment revision that serves it. A variant with nothing
    committed yet answers `count: 0` and no revision (as Agenta does)."""

    count: int
    application_revision: RevisionOut | None = None
    environment_revision: EnvironmentRevisionOut | None = None


class RevisionsResponse(Out):
    count: int
    application_revisions: list[RevisionOut]
    windowing: WindowingOut | None = None


class DeployResponse(Out):
    count: int
    environment_revision: EnvironmentRevisionOut
    application_revision: RevisionOut


class EnvironmentsResponse(Out):
    count: int
    environments: list[EnvironmentOut]


class EnvironmentRevisionsResponse(Out):
    count: int
    environment_revisions: list[EnvironmentRevisionOut]
    windowing: WindowingOut | None = None


class SimpleApplicationResponse(Out):
    count: int
    application: SimpleApplicationOut


class SimpleApplicationsResponse(Out):
    count: int
    applications: list[SimpleApplicationOut]
    windowing: WindowingOut | None = None


class ObjectRef(Out):
    id: uuid.UUID
    slug: str


class RevisionRef(Out):
    id: uuid.UUID
    slug: str
    version: RevisionVersion


class EnvironmentRevisionRef(Out):
    id: uuid.UUID
    version: int


class ServedReferences(Out):
    """What an environment serves of one application now."""

    application: ObjectRef
    application_variant: ObjectRef
    application_revision: RevisionRef
    environment_revision: EnvironmentRevisionRef


class EnvironmentServing(Out):
    references: dict[str, ServedReferences]


class SimpleEnvironmentOut(EnvironmentOut):
    data: EnvironmentServing


class SimpleEnvironmentsResponse(Out):
    count: int
    environments: list[SimpleEnvironmentOut]
