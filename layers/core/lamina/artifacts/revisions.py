"""Revisions of any kind: commit (version n+1, immutable), get, log (history), query, fork.

Every function takes the caller's Principal and works in its project only.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lamina.api.schemas import Reference, Windowing
from lamina.artifacts.kind import A, ArtifactKind, D, R, V
from lamina.artifacts.references import References
from lamina.artifacts.service import create_variant, flush_or_conflict, record_change
from lamina.artifacts.windowing import Window, fetch_window
from lamina.errors import ConflictError, NotFoundError, ValidationFailedError
from lamina.tenancy.principal import Principal

REVISION_SLUG_BYTES = 6
DEFAULT_LOG_DEPTH = 100


def commit(
    session: Session,
    kind: ArtifactKind[A, V, R, D],
    principal: Principal,
    variant_id: uuid.UUID,
    *,
    data: dict[str, Any],
    message: str | None = None,
    slug: str | None = None,
    artifact_id: uuid.UUID | None = None,
) -> R:
    """Version n+1 of the variant (its `data` validated by the kind): immutable from now on.

    `slug` names the revision (unique in the project; random when not given); `artifact_id`, when given,
    must be the variant's artifact.
    """
    data = kind.validate_data(data)
    table: Any = kind.variant
    # Lock the variant row: concurrent commits to one variant get consecutive versions, not a conflict.
    variant: V | None = session.execute(
        select(table)
        .where(table.id == variant_id, table.project_id == principal.project_id)
        .with_for_update()
    ).scalar_one_or_none()
    if variant is None:
        raise NotFoundError(f"variant {variant_id} not found")
    if artifact_id is not None and variant.artifact_id != artifact_id:
        raise NotFoundError(f"variant {variant_id} not found in {kind.name} {artifact_id}")
    if variant.archived_at is not None:
        raise ConflictError(f"variant {variant.slug!r} is archived: unarchive it to commit")
    revisions: Any = kind.revision
    current = session.execute(
        select(func.max(revisions.version)).where(revisions.variant_id == variant.id)
    ).scalar_one()
    revision = kind.revision(
        project_id=principal.project_id,
        artifact_id=variant.artifact_id,
        variant_id=variant.id,
        version=(current or 0) + 1,
        slug=slug or secrets.token_hex(REVISION_SLUG_BYTES),
        message=message,
        data=data,
        created_by=principal.actor,
    )
    session.add(revision)
    flush_or_conflict(session, f"a revision with slug {revision.slug!r}")
    payload = {
        f"{kind.name}_id": str(revision.artifact_id),
        f"{kind.variant_name}_id": str(variant.id),
        f"{kind.revision_name}_id": str(revision.id),
        "version": revision.version,
        "slug": revision.slug,
        "message": revision.message,
    }
    record_change(session, kind, principal, "revision", "committed", payload)
    return revision


def get_revision(
    session: Session, kind: ArtifactKind[A, V, R, D], principal: Principal, revision_id: uuid.UUID
) -> R:
    return References(session, kind, principal.project_id).revision_by_id(revision_id)


def log(
    session: Session,
    kind: ArtifactKind[A, V, R, D],
    principal: Principal,
    *,
    artifact_ref: Reference | None = None,
    variant_ref: Reference | None = None,
    revision_ref: Reference | None = None,
    depth: int | None = None,
) -> list[R]:
    """A variant's history, newest first; from the named revision downwards when one is named."""
    references = References(session, kind, principal.project_id)
    table: Any = kind.revision
    if revision_ref is not None or (variant_ref is not None and variant_ref.version is not None):
        start = references.target(
            artifact_ref=artifact_ref, variant_ref=variant_ref, revision_ref=revision_ref
        )
        query = select(table).where(table.variant_id == start.variant_id, table.version <= start.version)
    else:
        variant = references.variant_named(artifact_ref, variant_ref)
        query = select(table).where(table.variant_id == variant.id)
    query = query.order_by(table.version.desc()).limit(depth or DEFAULT_LOG_DEPTH)
    return list(session.execute(query).scalars())


def query_revisions(
    session: Session,
    kind: ArtifactKind[A, V, R, D],
    principal: Principal,
    *,
    artifact_ref: Reference | None = None,
    variant_ref: Reference | None = None,
    artifact_id: uuid.UUID | None = None,
    variant_id: uuid.UUID | None = None,
    windowing: Windowing | None = None,
) -> Window[R]:
    references = References(session, kind, principal.project_id)
    table: Any = kind.revision
    query = select(table).where(table.project_id == principal.project_id)
    artifact = references.artifact(artifact_ref) if artifact_ref is not None else None
    if artifact is not None:
        query = query.where(table.artifact_id == artifact.id)
    if variant_ref is not None:
        query = query.where(table.variant_id == references.variant(variant_ref, artifact).id)
    if artifact_id is not None:
        query = query.where(table.artifact_id == artifact_id)
    if variant_id is not None:
        query = query.where(table.variant_id == variant_id)
    return fetch_window(session, query, table.id, windowing)


def fork(
    session: Session,
    kind: ArtifactKind[A, V, R, D],
    principal: Principal,
    *,
    artifact_ref: Reference | None = None,
    variant_ref: Reference | None = None,
    revision_ref: Reference | None = None,
    slug: str,
    name: str | None = None,
    description: str | None = None,
    message: str | None = None,
) -> tuple[V, R]:
    """A new variant of the same artifact whose first revision copies the source revision's data."""
    if revision_ref is None and variant_ref is None:
        raise ValidationFailedError(f"fork needs {kind.revision_name}_ref or {kind.variant_name}_ref")
    source = References(session, kind, principal.project_id).target(
        artifact_ref=artifact_ref, variant_ref=variant_ref, revision_ref=revision_ref
    )
    variant = create_variant(
        session,
        kind,
        principal,
        source.artifact_id,
        slug=slug,
        name=name,
        description=description,
        forked_from_revision_id=source.id,
    )
    revision = commit(
        session,
        kind,
        principal,
        variant.id,
        data=source.data,
        message=message or f"forked from {source.slug} (v{source.version})",
    )
    payload = {
        f"{kind.variant_name}_id": str(variant.id),
        "source_revision_id": str(source.id),
        f"{kind.revision_name}_id": str(revision.id),
    }
    record_change(session, kind, principal, "variant", "forked", payload)
    return variant, revision
