"""The declarative description of one kind of revisioned artifact, and the row shapes the core relies on."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar


class ArtifactRow(Protocol):
    """The artifact: a named thing in a project (an application, a test set...)."""

    def __init__(self, **fields: Any) -> None: ...

    id: uuid.UUID
    project_id: uuid.UUID
    slug: str
    name: str | None
    description: str | None
    flags: dict[str, Any]
    tags: dict[str, Any]
    meta: dict[str, Any]
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None


class VariantRow(Protocol):
    """A line of development of an artifact; its revisions are numbered 1, 2, 3..."""

    def __init__(self, **fields: Any) -> None: ...

    id: uuid.UUID
    project_id: uuid.UUID
    artifact_id: uuid.UUID
    slug: str
    name: str | None
    description: str | None
    flags: dict[str, Any]
    meta: dict[str, Any]
    forked_from_revision_id: uuid.UUID | None
    created_by: str | None
    created_at: datetime
    archived_at: datetime | None


class RevisionRow(Protocol):
    """An immutable snapshot of a variant's `data`."""

    def __init__(self, **fields: Any) -> None: ...

    id: uuid.UUID
    project_id: uuid.UUID
    artifact_id: uuid.UUID
    variant_id: uuid.UUID
    version: int
    slug: str
    message: str | None
    data: dict[str, Any]
    created_by: str | None
    created_at: datetime


class DeploymentRow(Protocol):
    """An environment revision: from `version` on, `environment` serves `revision` of `artifact`."""

    def __init__(self, **fields: Any) -> None: ...

    id: uuid.UUID
    project_id: uuid.UUID
    environment_id: uuid.UUID
    artifact_id: uuid.UUID
    variant_id: uuid.UUID
    revision_id: uuid.UUID
    version: int
    message: str | None
    created_by: str | None
    created_at: datetime


A = TypeVar("A", bound=ArtifactRow)
V = TypeVar("V", bound=VariantRow)
R = TypeVar("R", bound=RevisionRow)
D = TypeVar("D", bound=DeploymentRow)


def accept_any_data(data: dict[str, Any]) -> dict[str, Any]:
    return data


@dataclass(frozen=True)
class ArtifactKind(Generic[A, V, R, D]):
    """One kind of artifact: its four tables, the noun it goes by, and what a valid revision `data` is.

    `name` ("application") names the fields of requests, views and event payloads (`application_id`,
    `application_variant_ref`, `application_revision_id`); `domain` ("applications") starts its event types
    (`applications.revision.committed`). The models expose the core's column names (`artifact_id`,
    `variant_id`, `revision_id`), as SQLAlchemy synonyms where the table names them otherwise.
    """

    name: str
    domain: str
    artifact: type[A]
    variant: type[V]
    revision: type[R]
    deployment: type[D]
    # Raises ValidationFailedError on bad data; returns the data to store (possibly normalised).
    validate_data: Callable[[dict[str, Any]], dict[str, Any]] = field(default=accept_any_data)
    # Retrieve-by-environment answers are cached under `lamina:<cache_namespace>:...` (see cache.py);
    # by default the domain.
    cache_namespace: str | None = None

    @property
    def variant_name(self) -> str:
        return f"{self.name}_variant"

    @property
    def revision_name(self) -> str:
        return f"{self.name}_revision"

    @property
    def cache_name(self) -> str:
        return self.cache_namespace or self.domain

    def __post_init__(self) -> None:
        from lamina.events.artifact_events import artifact_event_specs
        from lamina.events.catalog import declare

        declare(*artifact_event_specs(self.domain, self.name))

    def event_type(self, obj: str, verb: str) -> str:
        """`<domain>.<object>.<verb>`; the object is the kind's name, `variant` or `revision`."""
        return f"{self.domain}.{obj}.{verb}"
