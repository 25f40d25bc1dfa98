"""`/api/applications/...`, `/api/environments/...`, `/api/simple/applications/...`, `/api/simple/environments/...`"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter

from lamina.applications import schemas
from lamina.auth.deps import ProjectDeployer, ProjectEditor, ProjectViewer, SessionDep
from lamina.errors import NotFoundError

if TYPE_CHECKING:
    from lamina.applications import service as registry
else:
    from lamina.lazy import lazy_module

    registry = lazy_module("lamina.applications.service")

router = APIRouter(tags=["applications"])
simple_router = APIRouter(tags=["simple applications"])


def _one(name: str, item: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"count": 1, name: item, **extra}


def _many(name: str, items: list[dict[str, Any]], next_cursor: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"count": len(items), name: items}
    if next_cursor is not None:
        body["windowing"] = {"next": next_cursor}
    return body


# ---------------------------------------------------------------- applications


@router.post("/applications/", response_model=None)
def create_application(
    body: schemas.ApplicationCreate, session: SessionDep, principal: ProjectEditor
) -> dict[str, Any]:
    app = registry.create_application(session, principal, body.application)
    return _one("application", registry.application_view(app))


@router.post("/applications/query", response_model=None)
def query_applications(
    body: schemas.ApplicationQuery, session: SessionDep, principal: ProjectViewer
) -> dict[str, Any]:
    apps, next_cursor = registry.query_applications(session, principal, body)
    return _many("applications", [registry.application_view(app) for app in apps], next_cursor)


# Static paths (`/variants/...`, `/revisions/...`) are declared before `/{application_id}` below.


@router.post("/applications/variants/", response_model=None)
def create_variant(
    body: schemas.VariantCreate, session: SessionDep, principal: ProjectEditor
) -> dict[str, Any]:
    variant = registry.create_variant(session, principal, body.application_variant)
    return _one("application_variant", registry.variant_view(variant))


@router.post("/applications/variants/query", response_model=None)
def query_variants(
    body: schemas.VariantQuery, session: SessionDep, principal: ProjectViewer
) -> dict[str, Any]:
    variants, next_cursor = registry.query_variants(session, principal, body)
    return _many("application_variants", [registry.variant_view(v) for v in variants], next_cursor)


@router.post("/applications/variants/fork", response_model=None)
def fork_variant(body: schemas.VariantFork, session: SessionDep, principal: ProjectEditor) -> dict[str, Any]:
    variant, revision = registry.fork_variant(session, principal, body)
    return _one(
        "application_variant",
        registry.variant_view(variant),
        application_revision=registry.revision_view(revision),
    )


@router.get("/applications/variants/{variant_id}", response_model=None)
def get_variant(variant_id: uuid.UUID, session: SessionDep, principal: ProjectViewer) -> dict[str, Any]:
    return _one(
        "application_variant", registry.variant_view(registry.get_variant(session, principal, variant_id))
    )


@router.post("/applications/variants/{variant_id}/archive", response_model=None)
def archive_variant(variant_id: uuid.UUID, session: SessionDep, principal: ProjectEditor) -> dict[str, Any]:
    variant = registry.set_variant_archived(session, principal, variant_id, archived=True)
    return _one("application_variant", registry.variant_view(variant))


@router.post("/applications/variants/{variant_id}/unarchive", response_model=None)
def unarchive_variant(variant_id: uuid.UUID, session: SessionDep, principal: ProjectEditor) -> dict[str, Any]:
    variant = registry.set_variant_archived(session, principal, variant_id, archived=False)
    return _one("application_variant", registry.variant_view(variant))


@router.post("/applications/revisions/commit", response_model=None)
def commit_revision(
    body: schemas.RevisionCommit, session: SessionDep, principal: ProjectEditor
) -> dict[str, Any]:
    revision = registry.commit_revision(session, principal, body.application_revision)
    return _one("application_revision", registry.revision_view(revision))


@router.post("/applications/revisions/retrieve", response_model=None)
def retrieve_revision(
    body: schemas.RevisionRetrieve, session: SessionDep, principal: ProjectViewer
) -> dict[str, Any]:
    return registry.retrieve(session, principal, body)


@router.post("/applications/revisions/log", response_model=None)
def log_revisions(body: schemas.RevisionLog, session: SessionDep, principal: ProjectViewer) -> dict[str, Any]:
    revisions = registry.log_revisions(session, principal, body)
    return _many("application_revisions", [registry.revision_view(r) for r in revisions])


@router.post("/applications/revisions/query", response_model=None)
def query_revisions(
    body: schemas.RevisionQuery, session: SessionDep, principal: ProjectViewer
) -> dict[str, Any]:
    revisions, next_cursor = registry.query_revisions(session, principal, body)
    return _many("application_revisions", [registry.revision_view(r) for r in revisions], next_cursor)


@router.post("/applications/revisions/deploy", response_model=None)
def deploy_revision(
    body: schemas.RevisionDeploy, session: SessionDep, principal: ProjectDeployer
) -> dict[str, Any]:
    deployment, environment, revision = registry.deploy(session, principal, body)
    return _one(
        "environment_revision",
        registry.environment_revision_view(deployment, environment),
        application_revision=registry.revision_view(revision),
    )


@router.get("/applications/revisions/{revision_id}", response_model=None)
def get_revision(revision_id: uuid.UUID, session: SessionDep, principal: ProjectViewer) -> dict[str, Any]:
    return _one(
        "application_revision", registry.revision_view(registry.get_revision(session, principal, revision_id))
    )


@router.get("/applications/{application_id}", response_model=None)
def get_application(
    application_id: uuid.UUID, session: SessionDep, principal: ProjectViewer
) -> dict[str, Any]:
    return _one(
        "application", registry.application_view(registry.get_application(session, principal, application_id))
    )


@router.put("/applications/{application_id}", response_model=None)
def edit_application(
    application_id: uuid.UUID, body: schemas.ApplicationEdit, session: SessionDep, principal: ProjectEditor
) -> dict[str, Any]:
    app = registry.edit_application(session, principal, application_id, body.application)
    return _one("application", registry.application_view(app))


@router.post("/applications/{application_id}/archive", response_model=None)
def archive_application(
    application_id: uuid.UUID, session: SessionDep, principal: ProjectEditor
) -> dict[str, Any]:
    app = registry.set_application_archived(session, principal, application_id, archived=True)
    return _one("application", registry.application_view(app))


@router.post("/applications/{application_id}/unarchive", response_model=None)
def unarchive_application(
    application_id: uuid.UUID, session: SessionDep, principal: ProjectEditor
) -> dict[str, Any]:
    app = registry.set_application_archived(session, principal, application_id, archived=False)
    return _one("application", registry.application_view(app))


# ---------------------------------------------------------------- environments


@router.get("/environments/", tags=["environments"], response_model=None)
def list_environments(session: SessionDep, principal: ProjectViewer) -> dict[str, Any]:
    environments = registry.list_environments(session, principal)
    return _many("environments", [registry.environment_view(e) for e in environments])


@router.post("/environments/revisions/log", tags=["environments"], response_model=None)
def environment_log(
    body: schemas.EnvironmentLog, session: SessionDep, principal: ProjectViewer
) -> dict[str, Any]:
    environment, deployments, next_cursor = registry.environment_log(session, principal, body)
    views = [registry.environment_revision_view(d, environment) for d in deployments]
    return _many("environment_revisions", views, next_cursor)


# ---------------------------------------------------------------- simple


def _simple_view(session: Any, app: Any) -> dict[str, Any]:
    view = registry.application_view(app)
    try:
        variant = registry.default_variant(session, app)
        revision = registry.latest_revision(session, variant)
    except NotFoundError:  # an application without a variant or revision still has a header
        return {**view, "variant_id": None, "revision_id": None, "version": None, "data": None}
    return {
        **view,
        "variant_id": str(variant.id),
        "revision_id": str(revision.id),
        "version": revision.version,
        "data": revision.data,
    }


@simple_router.post("/simple/applications/", response_model=None)
def simple_create(
    body: schemas.SimpleApplicationCreate, session: SessionDep, principal: ProjectEditor
) -> dict[str, Any]:
    app = registry.simple_create(session, principal, body.application)
    return _one("application", _simple_view(session, app))


@simple_router.post("/simple/applications/query", response_model=None)
def simple_query(
    body: schemas.ApplicationQuery, session: SessionDep, principal: ProjectViewer
) -> dict[str, Any]:
    apps, next_cursor = registry.query_applications(session, principal, body)
    return _many("applications", [_simple_view(session, app) for app in apps], next_cursor)


@simple_router.get("/simple/applications/{application_id}", response_model=None)
def simple_get(application_id: uuid.UUID, session: SessionDep, principal: ProjectViewer) -> dict[str, Any]:
    return _one(
        "application", _simple_view(session, registry.get_application(session, principal, application_id))
    )


@simple_router.put("/simple/applications/{application_id}", response_model=None)
def simple_edit(
    application_id: uuid.UUID,
    body: schemas.SimpleApplicationEdit,
    session: SessionDep,
    principal: ProjectEditor,
) -> dict[str, Any]:
    app = registry.simple_edit(session, principal, application_id, body.application)
    return _one("application", _simple_view(session, app))


@simple_router.post("/simple/applications/{application_id}/archive", response_model=None)
def simple_archive(
    application_id: uuid.UUID, session: SessionDep, principal: ProjectEditor
) -> dict[str, Any]:
    app = registry.set_application_archived(session, principal, application_id, archived=True)
    return _one("application", _simple_view(session, app))


@simple_router.post("/simple/applications/{application_id}/unarchive", response_model=None)
def simple_unarchive(
    application_id: uuid.UUID, session: SessionDep, principal: ProjectEditor
) -> dict[str, Any]:
    app = registry.set_application_archived(session, principal, application_id, archived=False)
    return _one("application", _simple_view(session, app))


@simple_router.post("/simple/environments/query", response_model=None)
def simple_environments(
    body: schemas.EnvironmentQuery, session: SessionDep, principal: ProjectViewer
) -> dict[str, Any]:
    environments = registry.environments_with_deployments(session, principal, body)
    return _many("environments", environments)
