"""Response shapes every artifact kind shares: the base of its response bodies, the windowing cursor, and an
artifact's header as `lamina.artifacts.views.artifact_view` builds it. A kind subclasses them under its own
names (`ApplicationOut`, `TestsetOut`), so its OpenAPI schemas keep their names.

Routes return plain dicts; FastAPI checks them against these models and serialises only the fields the dict
set, so an optional field (`windowing`, `environment_revision`) is absent rather than null when the route
did not set it.
"""

# No `from __future__ import annotations` here: see lamina.api.schemas.Model.

import uuid
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import ConfigDict

from lamina.api.schemas import Model


class Out(Model):
    """Base of every artifact response body (its validator is built on first use: see `Model`)."""


class WindowingOut(Out):
    """Where the next window starts (pass it back as `windowing.next`)."""

    next: uuid.UUID | None = None


class ArtifactOut(Out):
    id: uuid.UUID
    slug: str
    name: str | None
    description: str | None
    flags: dict[str, Any]
    tags: dict[str, Any]
    meta: dict[str, Any]
    project_id: uuid.UUID
    created_at: datetime | None
    updated_at: datetime | None
    created_by: str | None
    archived_at: datetime | None


class KindNamedOut(Out):
    """A response with fields a kind names by its noun (`testset_id`, `testset_variant_id`). The generic
    field (`kind_id`) keeps its place; the kind's subclass gives it an alias, the name it is validated,
    serialised and documented by: `kind_id: uuid.UUID = Field(alias="testset_id")`."""

    model_config = ConfigDict(serialize_by_alias=True)


class ArtifactVariantOut(KindNamedOut):
    """A variant as `lamina.artifacts.views.variant_view` builds it."""

    id: uuid.UUID
    slug: str
    name: str | None
    description: str | None
    flags: dict[str, Any]
    meta: dict[str, Any]
    kind_id: uuid.UUID
    artifact_id: uuid.UUID
    forked_from_revision_id: uuid.UUID | None
    created_at: datetime | None
    created_by: str | None
    archived_at: datetime | None


Version = TypeVar("Version", int, str)
Data = TypeVar("Data")


class ArtifactRevisionOut(KindNamedOut, Generic[Version, Data]):
    """A revision as `lamina.artifacts.views.revision_view` builds it; Agenta sends some kinds' `version` as
    a string, and each kind has its own `data`."""

    id: uuid.UUID
    slug: str
    version: Version
    message: str | None
    data: Data
    kind_id: uuid.UUID
    artifact_id: uuid.UUID
    kind_variant_id: uuid.UUID
    variant_id: uuid.UUID
    created_at: datetime | None
    created_by: str | None
