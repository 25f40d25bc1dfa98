"""The prompt registry: applications, variants, immutable revisions, environments and deployments.

Every function takes the caller's Principal and filters by its project: an id from another project is
"not found", never "forbidden", so ids cannot be probed across tenants.
"""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lamina.api.schemas import Reference, Windowing
from lamina.applications import schemas
from lamina.applications.models import (
    DEFAULT_ENVIRONMENTS,
    Application,
    ApplicationRevision,
    ApplicationVariant,
    Environment,
    EnvironmentRevision,
)
from lamina.applications.prompt import validate_revision_data
from lamina.auth.principal import Principal
from lamina.db.base import utcnow
from lamina.db.unit_of_work import after_commit
from lamina.errors import ConflictError, NotFoundError, ValidationFailedError
from lamina.events.outbox import stage_event

logger = logging.getLogger(__name__)

DEFAULT_VARIANT_SLUG = "default"
REVISION_SLUG_BYTES = 6
# Retrieve-by-environment answers are cached this long; a deploy invalidates them at once (see below).
RETRIEVE_CACHE_TTL_S = 300
DEFAULT_LOG_DEPTH = 100


# ---------------------------------------------------------------- views (the JSON the routes return)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def application_view(app: Application) -> dict[str, Any]:
    return {
        "id": str(app.id),
        "slug": app.slug,
        "name": app.name,
        "description": app.description,
        "flags": app.flags or {},
        "tags": app.tags or {},
        "meta": app.meta or {},
        "project_id": str(app.project_id),
        "created_at": _iso(app.created_at),
        "updated_at": _iso(app.updated_at),
        "created_by": app.created_by,
        "archived_at": _iso(app.archived_at),
    }


def variant_view(variant: ApplicationVariant) -> dict[str, Any]:
    return {
        "id": str(variant.id),
        "slug": variant.slug,
        "name": variant.name,
        "description": variant.description,
        "flags": variant.flags or {},
        "meta": variant.meta or {},
        "application_id": str(variant.application_id),
        "artifact_id": str(variant.application_id),
        "forked_from_revision_id": str(variant.forked_from_revision_id)
        if variant.forked_from_revision_id
        else None,
        "created_at": _iso(variant.created_at),
        "created_by": variant.created_by,
        "archived_at": _iso(variant.archived_at),
    }


def revision_view(revision: ApplicationRevision) -> dict[str, Any]:
    return {
        "id": str(revision.id),
        "slug": revision.slug,
        "version": revision.version,
        "message": revision.message,
        "data": revision.data or {},
        "application_id": str(revision.application_id),
        "artifact_id": str(revision.application_id),
        "application_variant_id": str(revision.variant_id),
        "variant_id": str(revision.variant_id),
        "created_at": _iso(revision.created_at),
        "created_by": revision.created_by,
    }


def environment_view(environment: Environment) -> dict[str, Any]:
    return {"id": str(environment.id), "slug": environment.slug, "name": environment.name}


def environment_revision_view(deployment: EnvironmentRevision, environment: Environment) -> dict[str, Any]:
    return {
        "id": str(deployment.id),
        "version": deployment.version,
        "environment_id": str(environment.id),
        "environment_slug": environment.slug,
        "application_id": str(deployment.application_id),
        "application_variant_id": str(deployment.application_variant_id),
        "application_revision_id": str(deployment.application_revision_id),
        "message": deployment.message,
        "created_at": _iso(deployment.created_at),
        "created_by": deployment.created_by,
    }


# ---------------------------------------------------------------- helpers


def _flush_or_conflict(session: Session, what: str) -> None:
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as error:
        raise ConflictError(f"{what} already exists") from error


def _window(query: Select[Any], column: Any, windowing: Windowing | None) -> tuple[Select[Any], int]:
    windowing = windowing or Windowing()
    if windowing.next is not None:
        query = query.where(
            column < windowing.next if windowing.order == "descending" else column > windowing.next
        )
    query = query.order_by(column.desc() if windowing.order == "descending" else column.asc())
    # One extra row tells whether there is a next window.
    return query.limit(windowing.limit + 1), windowing.limit


def _page(rows: list[Any], limit: int) -> tuple[list[Any], str | None]:
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, str(rows[-1].id)
    return rows, None


def _changed(session: Session, principal: Principal, type: str, payload: dict[str, Any]) -> None:
    """Stage a domain event and make the registry's cached answers stale once the change commits."""
    stage_event(session, type, payload, project_id=principal.project_id)
    project_id = principal.project_id
    after_commit(session, lambda: bump_registry_generation(project_id))


# ---------------------------------------------------------------- applications


def create_application(
    session: Session, principal: Principal, fields: schemas.ApplicationFields
) -> Application:
    app = Application(
        project_id=principal.project_id,
        slug=fields.slug,
        name=fields.name or fields.slug,
        description=fields.description,
        flags=fields.flags or {},
        tags=fields.tags or {},
        meta=fields.meta or {},
        created_by=principal.actor,
    )
    session.add(app)
    _flush_or_conflict(session, f"an application with slug {fields.slug!r}")
    _changed(session, principal, "applications.application.created", {"application": application_view(app)})
    return app


def get_application(session: Session, principal: Principal, application_id: uuid.UUID) -> Application:
    app = session.execute(
        select(Application).where(
            Application.id == application_id, Application.project_id == principal.project_id
        )
    ).scalar_one_or_none()
    if app is None:
        raise NotFoundError(f"application {application_id} not found")
    return app


def resolve_application(session: Session, principal: Principal, ref: Reference) -> Application:
    if ref.id is not None:
        return get_application(session, principal, ref.id)
    if ref.slug is None:
        raise ValidationFailedError("application_ref needs an id or a slug")
    app = session.execute(
        select(Application).where(
            Application.project_id == principal.project_id, Application.slug == ref.slug
        )
    ).scalar_one_or_none()
    if app is None:
        raise NotFoundError(f"application {ref.slug!r} not found")
    return app


def edit_application(
    session: Session, principal: Principal, application_id: uuid.UUID, edits: schemas.ApplicationEdits
) -> Application:
    if edits.id is not None and edits.id != application_id:
        raise ValidationFailedError("application.id does not match the id in the path")
    app = get_application(session, principal, application_id)
    for field in ("slug", "name", "description", "flags", "tags", "meta"):
        value = getattr(edits, field)
        if value is not None:
            setattr(app, field, value)
    _flush_or_conflict(session, f"an application with slug {edits.slug!r}")
    _changed(session, principal, "applications.application.updated", {"application": application_view(app)})
    return app


def set_application_archived(
    session: Session, principal: Principal, application_id: uuid.UUID, *, archived: bool
) -> Application:
    app = get_application(session, principal, application_id)
    app.archived_at = utcnow() if archived else None
    session.flush()
    verb = "archived" if archived else "unarchived"
    _changed(
        session,
        principal,
        f"applications.application.{verb}",
        {"application_id": str(app.id), "slug": app.slug},
    )
    return app


def query_applications(
    session: Session, principal: Principal, body: schemas.ApplicationQuery
) -> tuple[list[Application], str | None]:
    query = select(Application).where(Application.project_id == principal.project_id)
    if not body.include_archived:
        query = query.where(Application.archived_at.is_(None))
    criteria = body.application
    if criteria is not None:
        if criteria.slug is not None:
            query = query.where(Application.slug == criteria.slug)
        if criteria.flags:
            query = query.where(Application.flags.contains(criteria.flags))
        if criteria.tags:
            query = query.where(Application.tags.contains(criteria.tags))
    if body.application_refs:
        ids = [ref.id for ref in body.application_refs if ref.id]
        slugs = [ref.slug for ref in body.application_refs if ref.slug]
        query = query.where(Application.id.in_(ids) | Application.slug.in_(slugs))
    query, limit = _window(query, Application.id, body.windowing)
    return _page(list(session.execute(query).scalars()), limit)


# ---------------------------------------------------------------- variants


def create_variant(
    session: Session, principal: Principal, fields: schemas.VariantFields
) -> ApplicationVariant:
    app = get_application(session, principal, fields.application_id)
    variant = ApplicationVariant(
        project_id=principal.project_id,
        application_id=app.id,
        slug=fields.slug,
        name=fields.name or fields.slug,
        description=fields.description,
        flags=fields.flags or {},
        meta=fields.meta or {},
        created_by=principal.actor,
    )
    session.add(variant)
    _flush_or_conflict(session, f"a variant {fields.slug!r} of {app.slug!r}")
    _changed(
        session, principal, "applications.variant.created", {"application_variant": variant_view(variant)}
    )
    return variant


def get_variant(session: Session, principal: Principal, variant_id: uuid.UUID) -> ApplicationVariant:
    variant = session.execute(
        select(ApplicationVariant).where(
            ApplicationVariant.id == variant_id, ApplicationVariant.project_id == principal.project_id
        )
    ).scalar_one_or_none()
    if variant is None:
        raise NotFoundError(f"variant {variant_id} not found")
    return variant


def resolve_variant(
    session: Session, principal: Principal, ref: Reference, application: Application | None = None
) -> ApplicationVariant:
    if ref.id is not None:
        variant = get_variant(session, principal, ref.id)
        if application is not None and variant.application_id != application.id:
            raise NotFoundError(f"variant {ref.id} not found in application {application.slug!r}")
        return variant
    if ref.slug is None:
        raise ValidationFailedError("application_variant_ref needs an id or a slug")
    query = select(ApplicationVariant).where(
        ApplicationVariant.project_id == principal.project_id, ApplicationVariant.slug == ref.slug
    )
    if application is not None:
        query = query.where(ApplicationVariant.application_id == application.id)
    found = list(session.execute(query.limit(2)).scalars())
    if not found:
        raise NotFoundError(f"variant {ref.slug!r} not found")
    if len(found) > 1:
        raise ValidationFailedError(
            f"variant slug {ref.slug!r} is used by several applications: add application_ref"
        )
    return found[0]


def default_variant(session: Session, application: Application) -> ApplicationVariant:
    """The application's first variant that is not archived."""
    variant = session.execute(
        select(ApplicationVariant)
        .where(ApplicationVariant.application_id == application.id, ApplicationVariant.archived_at.is_(None))
        .order_by(ApplicationVariant.created_at, ApplicationVariant.id)
        .limit(1)
    ).scalar_one_or_none()
    if variant is None:
        raise NotFoundError(f"application {application.slug!r} has no variant")
    return variant


def query_variants(
    session: Session, principal: Principal, body: schemas.VariantQuery
) -> tuple[list[ApplicationVariant], str | None]:
    query = select(ApplicationVariant).where(ApplicationVariant.project_id == principal.project_id)
    if not body.include_archived:
        query = query.where(ApplicationVariant.archived_at.is_(None))
    if body.application_ref is not None:
        app = resolve_application(session, principal, body.application_ref)
        query = query.where(ApplicationVariant.application_id == app.id)
    criteria = body.application_variant
    if criteria is not None:
        if criteria.application_id is not None:
            query = query.where(ApplicationVariant.application_id == criteria.application_id)
        if criteria.slug is not None:
            query = query.where(ApplicationVariant.slug == criteria.slug)
    query, limit = _window(query, ApplicationVariant.id, body.windowing)
    return _page(list(session.execute(query).scalars()), limit)


def set_variant_archived(
    session: Session, principal: Principal, variant_id: uuid.UUID, *, archived: bool
) -> ApplicationVariant:
    variant = get_variant(session, principal, variant_id)
    variant.archived_at = utcnow() if archived else None
    session.flush()
    verb = "archived" if archived else "unarchived"
    _changed(session, principal, f"applications.variant.{verb}", {"application_variant_id": str(variant.id)})
    return variant


def fork_variant(
    session: Session, principal: Principal, body: schemas.VariantFork
) -> tuple[ApplicationVariant, ApplicationRevision]:
    """A new variant of the same application whose first revision copies the source revision's data."""
    if body.application_revision_ref is not None:
        source = resolve_revision_ref(
            session, principal, body.application_revision_ref, body.application_variant_ref
        )
    elif body.application_variant_ref is not None:
        source = latest_revision(session, resolve_variant(session, principal, body.application_variant_ref))
    else:
        raise ValidationFailedError("fork needs application_revision_ref or application_variant_ref")
    fields = schemas.VariantFields(
        application_id=source.application_id,
        slug=body.application_variant.slug,
        name=body.application_variant.name,
        description=body.application_variant.description,
    )
    variant = create_variant(session, principal, fields)
    variant.forked_from_revision_id = source.id
    message = (body.application_revision.message if body.application_revision else None) or (
        f"forked from {source.slug} (v{source.version})"
    )
    revision = commit_revision(
        session,
        principal,
        schemas.RevisionFields(application_variant_id=variant.id, message=message, data=source.data),
    )
    stage_event(
        session,
        "applications.variant.forked",
        {
            "application_variant_id": str(variant.id),
            "source_revision_id": str(source.id),
            "application_revision_id": str(revision.id),
        },
        project_id=principal.project_id,
    )
    return variant, revision


# ---------------------------------------------------------------- revisions


def commit_revision(
    session: Session, principal: Principal, fields: schemas.RevisionFields
) -> ApplicationRevision:
    """Version n+1 of the variant, after validating its prompt template(s)."""
    data = validate_revision_data(fields.data)
    # Lock the variant row: concurrent commits to one variant get consecutive versions, not a conflict.
    variant = session.execute(
        select(ApplicationVariant)
        .where(
            ApplicationVariant.id == fields.application_variant_id,
            ApplicationVariant.project_id == principal.project_id,
        )
        .with_for_update()
    ).scalar_one_or_none()
    if variant is None:
        raise NotFoundError(f"variant {fields.application_variant_id} not found")
    if variant.archived_at is not None:
        raise ConflictError(f"variant {variant.slug!r} is archived: unarchive it to commit")
    current = session.execute(
        select(func.max(ApplicationRevision.version)).where(ApplicationRevision.variant_id == variant.id)
    ).scalar_one()
    revision = ApplicationRevision(
        project_id=principal.project_id,
        application_id=variant.application_id,
        variant_id=variant.id,
        version=(current or 0) + 1,
        slug=secrets.token_hex(REVISION_SLUG_BYTES),
        message=fields.message,
        data=data,
        created_by=principal.actor,
    )
    session.add(revision)
    session.flush()
    stage_event(
        session,
        "applications.revision.committed",
        {
            "application_id": str(revision.application_id),
            "application_variant_id": str(variant.id),
            "application_revision_id": str(revision.id),
            "version": revision.version,
            "slug": revision.slug,
            "message": revision.message,
        },
        project_id=principal.project_id,
    )
    return revision


def get_revision(session: Session, principal: Principal, revision_id: uuid.UUID) -> ApplicationRevision:
    revision = session.execute(
        select(ApplicationRevision).where(
            ApplicationRevision.id == revision_id, ApplicationRevision.project_id == principal.project_id
        )
    ).scalar_one_or_none()
    if revision is None:
        raise NotFoundError(f"revision {revision_id} not found")
    return revision


def latest_revision(session: Session, variant: ApplicationVariant) -> ApplicationRevision:
    revision = session.execute(
        select(ApplicationRevision)
        .where(ApplicationRevision.variant_id == variant.id)
        .order_by(ApplicationRevision.version.desc())
        .limit(1)
    ).scalar_one_or_none()
    if revision is None:
        raise NotFoundError(f"variant {variant.slug!r} has no revision yet")
    return revision


def resolve_revision_ref(
    session: Session, principal: Principal, ref: Reference, variant_ref: Reference | None = None
) -> ApplicationRevision:
    if ref.id is not None:
        return get_revision(session, principal, ref.id)
    if ref.slug is not None:
        revision = session.execute(
            select(ApplicationRevision).where(
                ApplicationRevision.project_id == principal.project_id, ApplicationRevision.slug == ref.slug
            )
        ).scalar_one_or_none()
        if revision is None:
            raise NotFoundError(f"revision {ref.slug!r} not found")
        return revision
    if variant_ref is None:
        raise ValidationFailedError("a revision version needs application_variant_ref")
    variant = resolve_variant(session, principal, variant_ref)
    revision = session.execute(
        select(ApplicationRevision).where(
            ApplicationRevision.variant_id == variant.id, ApplicationRevision.version == ref.version
        )
    ).scalar_one_or_none()
    if revision is None:
        raise NotFoundError(f"variant {variant.slug!r} has no version {ref.version}")
    return revision


def log_revisions(
    session: Session, principal: Principal, body: schemas.RevisionLog
) -> list[ApplicationRevision]:
    """A variant's history, newest first (from a given revision downwards when one is named)."""
    upto: int | None = None
    if body.application_revision_ref is not None:
        start = resolve_revision_ref(
            session, principal, body.application_revision_ref, body.application_variant_ref
        )
        variant = get_variant(session, principal, start.variant_id)
        upto = start.version
    elif body.application_variant_ref is not None:
        app = resolve_application(session, principal, body.application_ref) if body.application_ref else None
        variant = resolve_variant(session, principal, body.application_variant_ref, app)
    elif body.application_ref is not None:
        variant = default_variant(session, resolve_application(session, principal, body.application_ref))
    else:
        raise ValidationFailedError(
            "log needs application_revision_ref, application_variant_ref or application_ref"
        )
    query = select(ApplicationRevision).where(ApplicationRevision.variant_id == variant.id)
    if upto is not None:
        query = query.where(ApplicationRevision.version <= upto)
    query = query.order_by(ApplicationRevision.version.desc()).limit(body.depth or DEFAULT_LOG_DEPTH)
    return list(session.execute(query).scalars())


def query_revisions(
    session: Session, principal: Principal, body: schemas.RevisionQuery
) -> tuple[list[ApplicationRevision], str | None]:
    query = select(ApplicationRevision).where(ApplicationRevision.project_id == principal.project_id)
    if body.application_ref is not None:
        query = query.where(
            ApplicationRevision.application_id
            == resolve_application(session, principal, body.application_ref).id
        )
    if body.application_variant_ref is not None:
        query = query.where(
            ApplicationRevision.variant_id
            == resolve_variant(session, principal, body.application_variant_ref).id
        )
    criteria = body.application_revision
    if criteria is not None:
        if criteria.application_id is not None:
            query = query.where(ApplicationRevision.application_id == criteria.application_id)
        if criteria.application_variant_id is not None:
            query = query.where(ApplicationRevision.variant_id == criteria.application_variant_id)
    query, limit = _window(query, ApplicationRevision.id, body.windowing)
    return _page(list(session.execute(query).scalars()), limit)


# ---------------------------------------------------------------- environments and deployments


def ensure_environments(session: Session, project_id: uuid.UUID) -> None:
    """development, staging and production exist in every project (created on first use, race-free)."""
    from lamina.ids import uuid7

    statement = insert(Environment).values(
        [
            {"id": uuid7(), "project_id": project_id, "slug": slug, "name": slug}
            for slug in DEFAULT_ENVIRONMENTS
        ]
    )
    session.execute(statement.on_conflict_do_nothing(index_elements=["project_id", "slug"]))


def list_environments(session: Session, principal: Principal) -> list[Environment]:
    ensure_environments(session, principal.project_id)
    return list(
        session.execute(
            select(Environment)
            .where(Environment.project_id == principal.project_id)
            .order_by(Environment.created_at)
        ).scalars()
    )


def resolve_environment(session: Session, principal: Principal, ref: Reference) -> Environment:
    query = select(Environment).where(Environment.project_id == principal.project_id)
    if ref.id is not None:
        query = query.where(Environment.id == ref.id)
    elif ref.slug is not None:
        query = query.where(Environment.slug == ref.slug)
    else:
        raise ValidationFailedError("environment_ref needs an id or a slug")
    environment = session.execute(query).scalar_one_or_none()
    if environment is None and ref.slug in DEFAULT_ENVIRONMENTS:
        ensure_environments(session, principal.project_id)
        environment = session.execute(query).scalar_one_or_none()
    if environment is None:
        raise NotFoundError(f"environment {ref.slug or ref.id} not found")
    return environment


def _application_for(
    session: Session, principal: Principal, ref: Reference | None, key: str | None
) -> Application:
    if ref is not None:
        return resolve_application(session, principal, ref)
    if key:
        return resolve_application(session, principal, Reference(slug=key.removesuffix(".revision")))
    raise ValidationFailedError("name the application: application_ref or key")


def current_deployment(
    session: Session, environment: Environment, application_id: uuid.UUID
) -> EnvironmentRevision | None:
    return session.execute(
        select(EnvironmentRevision)
        .where(
            EnvironmentRevision.environment_id == environment.id,
            EnvironmentRevision.application_id == application_id,
        )
        .order_by(EnvironmentRevision.version.desc())
        .limit(1)
    ).scalar_one_or_none()


def deploy(
    session: Session, principal: Principal, body: schemas.RevisionDeploy
) -> tuple[EnvironmentRevision, Environment, ApplicationRevision]:
    """Point an environment at a revision; recorded as a new environment revision (history, rollback)."""
    environment = resolve_environment(session, principal, body.environment_ref)
    if body.environment_revision_ref is not None:
        revision = _revision_of_environment_revision(session, principal, environment, body)
    elif body.application_revision_ref is not None:
        revision = resolve_revision_ref(
            session, principal, body.application_revision_ref, body.application_variant_ref
        )
    elif body.application_variant_ref is not None:
        revision = latest_revision(session, resolve_variant(session, principal, body.application_variant_ref))
    elif body.application_ref is not None:
        app = resolve_application(session, principal, body.application_ref)
        revision = latest_revision(session, default_variant(session, app))
    else:
        raise ValidationFailedError(
            "deploy needs application_revision_ref, application_variant_ref, application_ref "
            "or environment_revision_ref"
        )
    # Lock the environment row: concurrent deploys to one environment get consecutive versions.
    session.execute(select(Environment.id).where(Environment.id == environment.id).with_for_update())
    current = session.execute(
        select(func.max(EnvironmentRevision.version)).where(
            EnvironmentRevision.environment_id == environment.id,
            EnvironmentRevision.application_id == revision.application_id,
        )
    ).scalar_one()
    deployment = EnvironmentRevision(
        project_id=principal.project_id,
        environment_id=environment.id,
        application_id=revision.application_id,
        application_variant_id=revision.variant_id,
        application_revision_id=revision.id,
        version=(current or 0) + 1,
        message=body.message,
        created_by=principal.actor,
    )
    session.add(deployment)
    session.flush()
    _changed(
        session,
        principal,
        "applications.revision.deployed",
        {
            "environment": environment_view(environment),
            "environment_revision_id": str(deployment.id),
            "environment_revision_version": deployment.version,
            "application_id": str(revision.application_id),
            "application_variant_id": str(revision.variant_id),
            "application_revision_id": str(revision.id),
            "application_revision_version": revision.version,
            "rollback": body.environment_revision_ref is not None,
        },
    )
    return deployment, environment, revision


def _revision_of_environment_revision(
    session: Session, principal: Principal, environment: Environment, body: schemas.RevisionDeploy
) -> ApplicationRevision:
    ref = body.environment_revision_ref
    assert ref is not None
    query = select(EnvironmentRevision).where(
        EnvironmentRevision.project_id == principal.project_id,
        EnvironmentRevision.environment_id == environment.id,
    )
    if ref.id is not None:
        query = query.where(EnvironmentRevision.id == ref.id)
    elif ref.version is not None:
        app = _application_for(session, principal, body.application_ref, None)
        query = query.where(
            EnvironmentRevision.application_id == app.id, EnvironmentRevision.version == ref.version
        )
    else:
        raise ValidationFailedError("environment_revision_ref needs an id, or a version with application_ref")
    earlier = session.execute(query).scalar_one_or_none()
    if earlier is None:
        raise NotFoundError("environment revision not found")
    return get_revision(session, principal, earlier.application_revision_id)


def environment_log(
    session: Session, principal: Principal, body: schemas.EnvironmentLog
) -> tuple[Environment, list[EnvironmentRevision], str | None]:
    environment = resolve_environment(session, principal, body.environment_ref)
    query = select(EnvironmentRevision).where(
        EnvironmentRevision.project_id == principal.project_id,
        EnvironmentRevision.environment_id == environment.id,
    )
    if body.application_ref is not None or body.key:
        app = _application_for(session, principal, body.application_ref, body.key)
        query = query.where(EnvironmentRevision.application_id == app.id)
    query, limit = _window(query, EnvironmentRevision.id, body.windowing)
    rows, next_cursor = _page(list(session.execute(query).scalars()), limit)
    return environment, rows, next_cursor


def environments_with_deployments(
    session: Session, principal: Principal, body: schemas.EnvironmentQuery
) -> list[dict[str, Any]]:
    """Each environment and, per application, the revision deployed to it now (`/simple/environments/query`)."""
    environments = (
        [resolve_environment(session, principal, body.environment_ref)]
        if body.environment_ref
        else list_environments(session, principal)
    )
    app_filter = (
        _application_for(session, principal, body.application_ref, body.key)
        if body.application_ref or body.key
        else None
    )
    latest = (
        select(
            EnvironmentRevision.environment_id,
            EnvironmentRevision.application_id,
            func.max(EnvironmentRevision.version).label("version"),
        )
        .where(EnvironmentRevision.project_id == principal.project_id)
        .group_by(EnvironmentRevision.environment_id, EnvironmentRevision.application_id)
        .subquery()
    )
    query = (
        select(EnvironmentRevision, Application, ApplicationVariant, ApplicationRevision)
        .join(
            latest,
            (latest.c.environment_id == EnvironmentRevision.environment_id)
            & (latest.c.application_id == EnvironmentRevision.application_id)
            & (latest.c.version == EnvironmentRevision.version),
        )
        .join(Application, Application.id == EnvironmentRevision.application_id)
        .join(ApplicationVariant, ApplicationVariant.id == EnvironmentRevision.application_variant_id)
        .join(ApplicationRevision, ApplicationRevision.id == EnvironmentRevision.application_revision_id)
        .where(
            EnvironmentRevision.project_id == principal.project_id,
            EnvironmentRevision.environment_id.in_([environment.id for environment in environments]),
        )
    )
    if app_filter is not None:
        query = query.where(EnvironmentRevision.application_id == app_filter.id)
    references: dict[uuid.UUID, dict[str, Any]] = {environment.id: {} for environment in environments}
    for deployment, app, variant, revision in session.execute(query).all():
        references[deployment.environment_id][app.slug] = {
            "application": {"id": str(app.id), "slug": app.slug},
            "application_variant": {"id": str(variant.id), "slug": variant.slug},
            "application_revision": {
                "id": str(revision.id),
                "slug": revision.slug,
                "version": revision.version,
            },
            "environment_revision": {"id": str(deployment.id), "version": deployment.version},
        }
    return [
        {**environment_view(environment), "data": {"references": references[environment.id]}}
        for environment in environments
    ]


# ---------------------------------------------------------------- retrieve (the SDK's hot path)


def retrieve(session: Session, principal: Principal, body: schemas.RevisionRetrieve) -> dict[str, Any]:
    """The revision a reference points at; by environment it is what is deployed there now (cached)."""
    if body.environment_ref is not None:
        request_key = _retrieve_cache_key(body)
        generation, cached = _cache_get(principal.project_id, request_key)
        if cached is not None:
            return cached
        result = _retrieve_by_environment(session, principal, body)
        if generation is not None:
            _cache_put(principal.project_id, generation, request_key, result)
        return result
    if body.application_revision_ref is not None:
        revision = resolve_revision_ref(
            session, principal, body.application_revision_ref, body.application_variant_ref
        )
    elif body.application_variant_ref is not None:
        app = resolve_application(session, principal, body.application_ref) if body.application_ref else None
        revision = latest_revision(
            session, resolve_variant(session, principal, body.application_variant_ref, app)
        )
    elif body.application_ref is not None or body.key:
        app = _application_for(session, principal, body.application_ref, body.key)
        revision = latest_revision(session, default_variant(session, app))
    else:
        raise ValidationFailedError(
            "retrieve needs application_ref, application_variant_ref, application_revision_ref or environment_ref"
        )
    return {"count": 1, "application_revision": revision_view(revision)}


def _retrieve_by_environment(
    session: Session, principal: Principal, body: schemas.RevisionRetrieve
) -> dict[str, Any]:
    assert body.environment_ref is not None
    environment = resolve_environment(session, principal, body.environment_ref)
    app = _application_for(session, principal, body.application_ref, body.key)
    deployment = current_deployment(session, environment, app.id)
    if deployment is None:
        raise NotFoundError(f"application {app.slug!r} is not deployed to {environment.slug!r}")
    revision = get_revision(session, principal, deployment.application_revision_id)
    return {
        "count": 1,
        "application_revision": revision_view(revision),
        "environment_revision": environment_revision_view(deployment, environment),
    }


# The cache is keyed by a per-project generation counter that every registry change bumps after its commit:
# one INCR invalidates every cached answer of the project, whatever reference form (id, slug, key) it used.
# An answer is stored under the generation read *before* the database was: if a deploy commits in between,
# the entry lands under a generation nobody reads any more, never under the new one.
_CACHE_GET_SCRIPT = """
local generation = redis.call('GET', KEYS[1]) or '0'
return {generation, redis.call('GET', ARGV[1] .. generation .. ':' .. ARGV[2]) or false}
"""


def _generation_key(project_id: uuid.UUID) -> str:
    return f"lamina:registry:generation:{project_id}"


def _answer_key_prefix(project_id: uuid.UUID) -> str:
    return f"lamina:registry:retrieve:{project_id}:"


def _retrieve_cache_key(body: schemas.RevisionRetrieve) -> str:
    return json.dumps(body.model_dump(mode="json", exclude_none=True), sort_keys=True, separators=(",", ":"))


def _cache_get(project_id: uuid.UUID, request_key: str) -> tuple[str | None, dict[str, Any] | None]:
    """(the project's generation, the cached answer or None), in one round trip; (None, None) without Redis."""
    try:
        from lamina.state import current

        state = current()
        script = state.memo(
            "registry:cache_get_script", lambda: state.redis.register_script(_CACHE_GET_SCRIPT)
        )
        generation, value = script(
            keys=[_generation_key(project_id)], args=[_answer_key_prefix(project_id), request_key]
        )
    except Exception:
        logger.warning("registry cache unavailable", exc_info=True)
        return None, None
    generation = generation.decode() if isinstance(generation, bytes) else str(generation)
    if not value:
        return generation, None
    try:
        cached: dict[str, Any] = json.loads(value)
    except ValueError:
        return generation, None
    return generation, cached


def _cache_put(project_id: uuid.UUID, generation: str, request_key: str, result: dict[str, Any]) -> None:
    try:
        from lamina.cache import get_redis

        key = f"{_answer_key_prefix(project_id)}{generation}:{request_key}"
        get_redis().set(key, json.dumps(result, separators=(",", ":")), ex=RETRIEVE_CACHE_TTL_S)
    except Exception:
        logger.warning("registry cache unavailable", exc_info=True)


def bump_registry_generation(project_id: uuid.UUID) -> None:
    """Make every cached retrieve answer of the project stale (called after a registry change commits)."""
    from lamina.cache import get_redis

    get_redis().incr(_generation_key(project_id))


# ---------------------------------------------------------------- simple (flat) applications


def simple_create(
    session: Session, principal: Principal, fields: schemas.SimpleApplicationFields
) -> Application:
    """An application with its `default` variant and a first revision (of `data`, possibly empty)."""
    app = create_application(
        session,
        principal,
        schemas.ApplicationFields(
            slug=fields.slug,
            name=fields.name,
            description=fields.description,
            flags=fields.flags,
            tags=fields.tags,
            meta=fields.meta,
        ),
    )
    variant = create_variant(
        session, principal, schemas.VariantFields(application_id=app.id, slug=DEFAULT_VARIANT_SLUG)
    )
    commit_revision(
        session,
        principal,
        schemas.RevisionFields(
            application_variant_id=variant.id, message=fields.message or "initial", data=fields.data or {}
        ),
    )
    return app


def simple_edit(
    session: Session, principal: Principal, application_id: uuid.UUID, edits: schemas.SimpleApplicationEdits
) -> Application:
    """Edit the header; new `data` is committed as the next revision of the default variant."""
    header = schemas.ApplicationEdits(
        id=edits.id,
        name=edits.name,
        description=edits.description,
        flags=edits.flags,
        tags=edits.tags,
        meta=edits.meta,
    )
    app = edit_application(session, principal, application_id, header)
    if edits.data is not None:
        variant = default_variant(session, app)
        commit_revision(
            session,
            principal,
            schemas.RevisionFields(application_variant_id=variant.id, message=edits.message, data=edits.data),
        )
    return app
