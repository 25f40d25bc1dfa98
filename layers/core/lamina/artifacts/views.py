"""The JSON of a kind's rows, as the routes return it and as event payloads carry it.

Field names follow the kind's noun (`application_id`, `application_variant_id`); the generic ones
(`artifact_id`, `variant_id`) are there too, as in Agenta's API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lamina.artifacts.kind import ArtifactKind, ArtifactRow, DeploymentRow, RevisionRow, VariantRow
from lamina.artifacts.models import Environment


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def artifact_view(artifact: ArtifactRow) -> dict[str, Any]:
    return {
        "id": str(artifact.id),
        "slug": artifact.slug,
        "name": artifact.name,
        "description": artifact.description,
        "flags": artifact.flags or {},
        "tags": artifact.tags or {},
        "meta": artifact.meta or {},
        "project_id": str(artifact.project_id),
        "created_at": _iso(artifact.created_at),
        "updated_at": _iso(artifact.updated_at),
        "created_by": artifact.created_by,
        "archived_at": _iso(artifact.archived_at),
    }


def variant_view(kind: ArtifactKind[Any, Any, Any, Any], variant: VariantRow) -> dict[str, Any]:
    forked_from = variant.forked_from_revision_id
    return {
        "id": str(variant.id),
        "slug": variant.slug,
        "name": variant.name,
        "description": variant.description,
        "flags": variant.flags or {},
        "meta": variant.meta or {},
        f"{kind.name}_id": str(variant.artifact_id),
        "artifact_id": str(variant.artifact_id),
        "forked_from_revision_id": str(forked_from) if forked_from else None,
        "created_at": _iso(variant.created_at),
        "created_by": variant.created_by,
        "archived_at": _iso(variant.archived_at),
    }


def revision_view(kind: ArtifactKind[Any, Any, Any, Any], revision: RevisionRow) -> dict[str, Any]:
    return {
        "id": str(revision.id),
        "slug": revision.slug,
        "version": revision.version,
        "message": revision.message,
        "data": revision.data or {},
        f"{kind.name}_id": str(revision.artifact_id),
        "artifact_id": str(revision.artifact_id),
        f"{kind.variant_name}_id": str(revision.variant_id),
        "variant_id": str(revision.variant_id),
        "created_at": _iso(revision.created_at),
        "created_by": revision.created_by,
    }


def environment_view(environment: Environment) -> dict[str, Any]:
    return {"id": str(environment.id), "slug": environment.slug, "name": environment.name}


def deployment_view(
    kind: ArtifactKind[Any, Any, Any, Any], deployment: DeploymentRow, environment: Environment
) -> dict[str, Any]:
    """An environment revision."""
    return {
        "id": str(deployment.id),
        "version": deployment.version,
        "environment_id": str(environment.id),
        "environment_slug": environment.slug,
        f"{kind.name}_id": str(deployment.artifact_id),
        f"{kind.variant_name}_id": str(deployment.variant_id),
        f"{kind.revision_name}_id": str(deployment.revision_id),
        "message": deployment.message,
        "created_at": _iso(deployment.created_at),
        "created_by": deployment.created_by,
    }
