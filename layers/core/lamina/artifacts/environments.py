"""Environments and what they serve: deploy (and roll back), their history, and retrieve.

A deployment is an environment revision: version n+1 of (environment, artifact), pointing at one revision.
The latest is what the environment serves; older ones are the history a rollback redeploys from.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lamina.api.schemas import Reference, Windowing
from lamina.artifacts.cache import request_key
from lamina.artifacts.kind import A, ArtifactKind, D, R, V
from lamina.artifacts.models import Environment
from lamina.artifacts.references import NothingCommittedError, References, ensure_environments
from lamina.artifacts.service import cache_of, record_change
from lamina.artifacts.views import deployment_view, environment_view, revision_view
from lamina.artifacts.windowing import Window, fetch_window
from lamina.errors import NotFoundError, ValidationFailedError
from lamina.tenancy.principal import Principal


def list_environments(session: Session, principal: Principal) -> list[Environment]:
    ensure_environments(session, principal.project_id)
    return list(
        session.execute(
            select(Environment)
            .where(Environment.project_id == principal.project_id)
            .order_by(Environment.created_at)
        ).scalars()
    )


# Unbounded on purpose: mypy checks a bounded type argument written in an annotation before the SQLAlchemy
# models are fully analysed, and then wrongly finds they do not match the row protocols.
_Deployment = TypeVar("_Deployment")
_Artifact = TypeVar("_Artifact")
_Variant = TypeVar("_Variant")
_Revision = TypeVar("_Revision")


@dataclass(frozen=True)
class Deployment(Generic[_Deployment, _Revision]):
    """A new environment revision, its environment, and the revision it deploys."""

    environment_revision: _Deployment
    environment: Environment
    revision: _Revision


def deploy(
    session: Session,
    kind: ArtifactKind[A, V, R, D],
    principal: Principal,
    *,
    environment_ref: Reference,
    artifact_ref: Reference | None = None,
    variant_ref: Reference | None = None,
    revision_ref: Reference | None = None,
    environment_revision_ref: Reference | None = None,
    message: str | None = None,
) -> Deployment[D, R]:
    """Point an environment at a revision, or (rollback) at what an earlier environment revision pointed at."""
    references = References(session, kind, principal.project_id)
    environment = references.environment(environment_ref)
    if environment_revision_ref is not None:
        artifact = references.artifact(artifact_ref) if artifact_ref is not None else None
        earlier = references.deployment(environment, environment_revision_ref, artifact)
        revision = references.revision_by_id(earlier.revision_id)
    else:
        revision = references.target(
            artifact_ref=artifact_ref, variant_ref=variant_ref, revision_ref=revision_ref
        )
    # Lock the environment row: concurrent deploys to one environment get consecutive versions.
    session.execute(select(Environment.id).where(Environment.id == environment.id).with_for_update())
    table: Any = kind.deployment
    current = session.execute(
        select(func.max(table.version)).where(
            table.environment_id == environment.id, table.artifact_id == revision.artifact_id
        )
    ).scalar_one()
    environment_revision = kind.deployment(
        project_id=principal.project_id,
        environment_id=environment.id,
        artifact_id=revision.artifact_id,
        variant_id=revision.variant_id,
        revision_id=revision.id,
        version=(current or 0) + 1,
        message=message,
        created_by=principal.actor,
    )
    session.add(environment_revision)
    session.flush()
    payload = {
        "environment": environment_view(environment),
        "environment_revision_id": str(environment_revision.id),
        "environment_revision_version": environment_revision.version,
        f"{kind.name}_id": str(revision.artifact_id),
        f"{kind.variant_name}_id": str(revision.variant_id),
        f"{kind.revision_name}_id": str(revision.id),
        f"{kind.revision_name}_version": revision.version,
        "rollback": environment_revision_ref is not None,
    }
    record_change(session, kind, principal, "revision", "deployed", payload)
    return Deployment(environment_revision, environment, revision)


def environment_log(
    session: Session,
    kind: ArtifactKind[A, V, R, D],
    principal: Principal,
    *,
    environment_ref: Reference,
    artifact_ref: Reference | None = None,
    key: str | None = None,
    windowing: Windowing | None = None,
) -> tuple[Environment, Window[D]]:
    """An environment's deployments of this kind (of one artifact when one is named), newest first."""
    references = References(session, kind, principal.project_id)
    environment = references.environment(environment_ref)
    table: Any = kind.deployment
    query = select(table).where(
        table.project_id == principal.project_id, table.environment_id == environment.id
    )
    if artifact_ref is not None or key:
        query = query.where(table.artifact_id == references.artifact_named(artifact_ref, key).id)
    return environment, fetch_window(session, query, table.id, windowing)


@dataclass(frozen=True)
class Served(Generic[_Artifact, _Variant, _Revision, _Deployment]):
    """What an environment serves of one artifact now."""

    environment_revision: _Deployment
    artifact: _Artifact
    variant: _Variant
    revision: _Revision


def served_now(
    session: Session,
    kind: ArtifactKind[A, V, R, D],
    principal: Principal,
    *,
    environment_refs: list[Reference] | None = None,
    artifact_ref: Reference | None = None,
    key: str | None = None,
) -> list[tuple[Environment, list[Served[A, V, R, D]]]]:
    """Each environment (or the named ones) with what it serves now, per artifact (or of the named one)."""
    references = References(session, kind, principal.project_id)
    environments = (
        [references.environment(ref) for ref in environment_refs]
        if environment_refs
        else list_environments(session, principal)
    )
    only = references.artifact_named(artifact_ref, key) if artifact_ref is not None or key else None
    deployments: Any = kind.deployment
    artifacts: Any = kind.artifact
    variants: Any = kind.variant
    revisions: Any = kind.revision
    latest = (
        select(
            deployments.environment_id,
            deployments.artifact_id,
            func.max(deployments.version).label("version"),
        )
        .where(deployments.project_id == principal.project_id)
        .group_by(deployments.environment_id, deployments.artifact_id)
        .subquery()
    )
    query = (
        select(deployments, artifacts, variants, revisions)
        .join(
            latest,
            (latest.c.environment_id == deployments.environment_id)
            & (latest.c.artifact_id == deployments.artifact_id)
            & (latest.c.version == deployments.version),
        )
        .join(artifacts, artifacts.id == deployments.artifact_id)
        .join(variants, variants.id == deployments.variant_id)
        .join(revisions, revisions.id == deployments.revision_id)
        .where(
            deployments.project_id == principal.project_id,
            deployments.environment_id.in_([environment.id for environment in environments]),
        )
    )
    if only is not None:
        query = query.where(deployments.artifact_id == only.id)
    served: dict[uuid.UUID, list[Served[A, V, R, D]]] = {environment.id: [] for environment in environments}
    for environment_revision, artifact, variant, revision in session.execute(query).all():
        served[environment_revision.environment_id].append(
            Served(environment_revision, artifact, variant, revision)
        )
    return [(environment, served[environment.id]) for environment in environments]


Encode = Callable[[dict[str, Any]], bytes]


def encode_json(answer: dict[str, Any]) -> bytes:
    return json.dumps(answer, separators=(",", ":")).encode()


def retrieve(
    session: Session,
    kind: ArtifactKind[A, V, R, D],
    principal: Principal,
    *,
    artifact_ref: Reference | None = None,
    variant_ref: Reference | None = None,
    revision_ref: Reference | None = None,
    environment_ref: Reference | None = None,
    key: str | None = None,
    encode: Encode = encode_json,
) -> bytes:
    """`{count, <kind>_revision[, environment_revision]}` as a JSON document (`encode`, e.g. through the
    route's response model): the revision the references name; by environment, what the environment serves
    now, cached as the encoded document (the SDK asks this on every request: a cache hit decodes nothing)."""
    if environment_ref is None:
        if artifact_ref is None and variant_ref is None and revision_ref is None and not key:
            raise ValidationFailedError(
                f"retrieve needs {kind.name}_ref, {kind.variant_name}_ref, {kind.revision_name}_ref "
                "or environment_ref"
            )
        try:
            revision = References(session, kind, principal.project_id).target(
                artifact_ref=artifact_ref, variant_ref=variant_ref, revision_ref=revision_ref, key=key
            )
        except NothingCommittedError:  # Agenta's answer, which its SDK reads as an empty configuration
            return encode({"count": 0})
        return encode({"count": 1, kind.revision_name: revision_view(kind, revision)})
    cache = cache_of(kind)
    cache_key = request_key(
        {
            "kind": kind.name,
            "environment_ref": environment_ref.model_dump(mode="json", exclude_none=True),
            "artifact_ref": artifact_ref.model_dump(mode="json", exclude_none=True) if artifact_ref else None,
            "key": key,
        }
    )
    generation, cached = cache.get(principal.project_id, cache_key)
    if cached is not None:
        return cached
    answer = encode(_retrieve_served(session, kind, principal, environment_ref, artifact_ref, key))
    if generation is not None:
        cache.put(principal.project_id, generation, cache_key, answer)
    return answer


def _retrieve_served(
    session: Session,
    kind: ArtifactKind[A, V, R, D],
    principal: Principal,
    environment_ref: Reference,
    artifact_ref: Reference | None,
    key: str | None,
) -> dict[str, Any]:
    references = References(session, kind, principal.project_id)
    environment = references.environment(environment_ref)
    artifact = references.artifact_named(artifact_ref, key)
    # A version in the environment reference names one of its revisions (Agenta's `environment_version`).
    environment_revision = references.current_deployment(environment, artifact.id, environment_ref.version)
    if environment_revision is None:
        at = "" if environment_ref.version is None else f" at version {environment_ref.version}"
        raise NotFoundError(f"{kind.name} {artifact.slug!r} is not deployed to {environment.slug!r}{at}")
    revision = references.revision_by_id(environment_revision.revision_id)
    return {
        "count": 1,
        kind.revision_name: revision_view(kind, revision),
        "environment_revision": deployment_view(kind, environment_revision, environment),
    }
