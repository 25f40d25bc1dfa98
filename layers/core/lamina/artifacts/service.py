"""Artifacts and variants of any kind: create, edit, archive, query; and how every change is recorded.

Every function takes the caller's Principal and works in its project only. Every change stages a domain
event in the caller's transaction (`<domain>.<object>.<verb>`) and, once committed, makes the kind's cached
answers stale.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lamina.api.schemas import Reference, Windowing
from lamina.artifacts.cache import GenerationCache
from lamina.artifacts.kind import A, ArtifactKind, D, R, V
from lamina.artifacts.references import References
from lamina.artifacts.schemas import ARTIFACT_HEADER_FIELDS
from lamina.artifacts.views import artifact_view, variant_view
from lamina.artifacts.windowing import Window, fetch_window
from lamina.db.base import utcnow
from lamina.db.unit_of_work import after_commit
from lamina.errors import ConflictError
from lamina.events.outbox import stage_event
from lamina.tenancy.principal import Principal

AnyKind = ArtifactKind[Any, Any, Any, Any]


def cache_of(kind: AnyKind) -> GenerationCache:
    return GenerationCache(kind.cache_name)


def record_change(
    session: Session, kind: AnyKind, principal: Principal, obj: str, verb: str, payload: dict[str, Any]
) -> None:
    """Stage the change's domain event; once it commits, the kind's cached answers of the project go stale."""
    stage_event(session, kind.event_type(obj, verb), payload, project_id=principal.project_id)
    cache, project_id = cache_of(kind), principal.project_id
    after_commit(session, lambda: cache.invalidate(project_id))


def flush_or_conflict(session: Session, what: str) -> None:
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as error:
        raise ConflictError(f"{what} already exists") from error


# ---------------------------------------------------------------- artifacts


def create_artifact(
    session: Session,
    kind: ArtifactKind[A, V, R, D],
    principal: Principal,
    *,
    slug: str,
    name: str | None = None,
    description: str | None = None,
    flags: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
) -> A:
    artifact = kind.artifact(
        project_id=principal.project_id,
        slug=slug,
        name=name or slug,
        description=description,
        flags=flags or {},
        tags=tags or {},
        meta=meta or {},
        created_by=principal.actor,
    )
    session.add(artifact)
    flush_or_conflict(session, f"a {kind.name} with slug {slug!r}")
    record_change(session, kind, principal, kind.name, "created", {kind.name: artifact_view(artifact)})
    return artifact


def get_artifact(
    session: Session, kind: ArtifactKind[A, V, R, D], principal: Principal, artifact_id: uuid.UUID
) -> A:
    return References(session, kind, principal.project_id).artifact_by_id(artifact_id)


def edit_artifact(
    session: Session,
    kind: ArtifactKind[A, V, R, D],
    principal: Principal,
    artifact_id: uuid.UUID,
    edits: Mapping[str, Any],
) -> A:
    """Set the given header fields (slug, name, description, flags, tags, meta); None leaves one as it is."""
    artifact = get_artifact(session, kind, principal, artifact_id)
    for field in ARTIFACT_HEADER_FIELDS:
        if edits.get(field) is not None:
            setattr(artifact, field, edits[field])
    flush_or_conflict(session, f"a {kind.name} with slug {edits.get('slug')!r}")
    record_change(session, kind, principal, kind.name, "updated", {kind.name: artifact_view(artifact)})
    return artifact


def set_artifact_archived(
    session: Session,
    kind: ArtifactKind[A, V, R, D],
    principal: Principal,
    artifact_id: uuid.UUID,
    *,
    archived: bool,
) -> A:
    artifact = get_artifact(session, kind, principal, artifact_id)
    artifact.archived_at = utcnow() if archived else None
    session.flush()
    verb = "archived" if archived else "unarchived"
    payload = {f"{kind.name}_id": str(artifact.id), "slug": artifact.slug}
    record_change(session, kind, principal, kind.name, verb, payload)
    return artifact


def query_artifacts(
    session: Session,
    kind: ArtifactKind[A, V, R, D],
    principal: Principal,
    *,
    name: str | None = None,
    slug: str | None = None,
    flags: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    refs: list[Reference] | None = None,
    include_archived: bool = False,
    windowing: Windowing | None = None,
) -> Window[A]:
    """The kind's artifacts in the project; `name` matches as a case-insensitive substring (as Agenta's query
    does), the other criteria exactly; `refs` by id or slug."""
    table: Any = kind.artifact
    query = select(table).where(table.project_id == principal.project_id)
    if not include_archived:
        query = query.where(table.archived_at.is_(None))
    if name:
        escaped = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(table.name.ilike(f"%{escaped}%", escape="\\"))
    if slug is not None:
        query = query.where(table.slug == slug)
    if flags:
        query = query.where(table.flags.contains(flags))
    if tags:
        query = query.where(table.tags.contains(tags))
    if refs:
        ids = [ref.id for ref in refs if ref.id]
        slugs = [ref.slug for ref in refs if ref.slug]
        query = query.where(table.id.in_(ids) | table.slug.in_(slugs))
    return fetch_window(session, query, table.id, windowing)


# ---------------------------------------------------------------- variants


def create_variant(
    session: Session,
    kind: ArtifactKind[A, V, R, D],
    principal: Principal,
    artifact_id: uuid.UUID,
    *,
    slug: str,
    name: str | None = None,
    description: str | None = None,
    flags: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
    forked_from_revision_id: uuid.UUID | None = None,
) -> V:
    artifact = get_artifact(session, kind, principal, artifact_id)
    variant = kind.variant(
        project_id=principal.project_id,
        artifact_id=artifact.id,
        slug=slug,
        name=name or slug,
        description=description,
        flags=flags or {},
        meta=meta or {},
        forked_from_revision_id=forked_from_revision_id,
        created_by=principal.actor,
    )
    session.add(variant)
    flush_or_conflict(session, f"a variant {slug!r} of {artifact.slug!r}")
    record_change(
        session, kind, principal, "variant", "created", {kind.variant_name: variant_view(kind, variant)}
    )
    return variant


def get_variant(
    session: Session, kind: ArtifactKind[A, V, R, D], principal: Principal, variant_id: uuid.UUID
) -> V:
    return References(session, kind, principal.project_id).variant_by_id(variant_id)


def query_variants(
    session: Session,
    kind: ArtifactKind[A, V, R, D],
    principal: Principal,
    *,
    artifact_refs: list[Reference] | None = None,
    artifact_id: uuid.UUID | None = None,
    slug: str | None = None,
    include_archived: bool = False,
    windowing: Windowing | None = None,
) -> Window[V]:
    """Variants, of the named artifacts (any of them) when some are named."""
    table: Any = kind.variant
    query = select(table).where(table.project_id == principal.project_id)
    if not include_archived:
        query = query.where(table.archived_at.is_(None))
    if artifact_refs:
        references = References(session, kind, principal.project_id)
        artifact_ids = [references.artifact(ref).id for ref in artifact_refs]
        query = query.where(table.artifact_id.in_(artifact_ids))
    if artifact_id is not None:
        query = query.where(table.artifact_id == artifact_id)
    if slug is not None:
        query = query.where(table.slug == slug)
    return fetch_window(session, query, table.id, windowing)


def set_variant_archived(
    session: Session,
    kind: ArtifactKind[A, V, R, D],
    principal: Principal,
    variant_id: uuid.UUID,
    *,
    archived: bool,
) -> V:
    variant = get_variant(session, kind, principal, variant_id)
    variant.archived_at = utcnow() if archived else None
    session.flush()
    verb = "archived" if archived else "unarchived"
    record_change(session, kind, principal, "variant", verb, {f"{kind.variant_name}_id": str(variant.id)})
    return variant
