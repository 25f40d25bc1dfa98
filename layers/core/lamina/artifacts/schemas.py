"""Request shapes every artifact kind shares: the header fields of an artifact, its filter, a fork's new
variant, and the annotated types of slugs, names and commit messages. A kind subclasses them and adds what
is its own (`folder_id`, its revision `data`); its requests keep their own names in the OpenAPI."""

# No `from __future__ import annotations` here: see lamina.api.schemas.Model.

import uuid
from typing import Annotated, Any

from pydantic import Field

from lamina.api.schemas import Body, Reference, Windowing

SLUG_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_\-.]{0,199}$"
Slug = Annotated[str, Field(pattern=SLUG_PATTERN, description="letters, digits, `_`, `-`, `.`")]
MAX_REVISION_SLUG_LENGTH = 40
RevisionSlug = Annotated[
    str, Field(pattern=SLUG_PATTERN, max_length=MAX_REVISION_SLUG_LENGTH, description="unique in the project")
]
Name = Annotated[str, Field(max_length=200)]
MAX_MESSAGE_LENGTH = 10_000
CommitMessage = Annotated[str, Field(max_length=MAX_MESSAGE_LENGTH)]
MAX_LOG_DEPTH = 1000
LogDepth = Annotated[int, Field(ge=1, le=MAX_LOG_DEPTH)]
# What the core stores on an artifact row from a request (`create_artifact`, `edit_artifact`).
ARTIFACT_HEADER_FIELDS = ("slug", "name", "description", "flags", "tags", "meta")


class HeaderBody(Body):
    def header(self) -> dict[str, Any]:
        """The artifact header fields of this request, as keywords for the core."""
        return {field: getattr(self, field) for field in ARTIFACT_HEADER_FIELDS}


class ArtifactHeader(HeaderBody):
    """An artifact as created: its slug and the fields a user describes it with."""

    slug: Slug
    name: Name | None = None
    description: str | None = None
    flags: dict[str, Any] | None = None
    tags: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None


class ArtifactHeaderEdits(HeaderBody):
    """Edits to an artifact's header: the fields given replace the stored ones."""

    id: uuid.UUID | None = None
    slug: Slug | None = None
    name: Name | None = None
    description: str | None = None
    flags: dict[str, Any] | None = None
    tags: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None


class ArtifactFilter(Body):
    """Agenta's artifact query filter; `slugs` are references by slug."""

    name: str | None = None
    description: str | None = None
    slug: str | None = None
    slugs: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = None
    flags: dict[str, Any] | None = None
    tags: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None


def query_arguments(
    criteria: ArtifactFilter | None,
    refs: list[Reference] | None,
    *,
    include_archived: bool,
    windowing: Windowing | None,
) -> dict[str, Any]:
    """A kind's query keywords from Agenta's `{<kind>: <filter>, <kind>_refs: [...]}`: the filter's `slugs`
    join the references."""
    every_ref = list(refs or [])
    if criteria and criteria.slugs:
        every_ref.extend(Reference(slug=slug) for slug in criteria.slugs)
    return {
        "name": criteria.name if criteria else None,
        "slug": criteria.slug if criteria else None,
        "flags": criteria.flags if criteria else None,
        "tags": criteria.tags if criteria else None,
        "refs": every_ref or None,
        "include_archived": include_archived,
        "windowing": windowing,
    }


class ForkedVariant(Body):
    slug: Slug
    name: Name | None = None
    description: str | None = None


class ForkedRevision(Body):
    message: CommitMessage | None = None
