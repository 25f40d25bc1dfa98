"""`/api/applications/...`, `/api/environments/...`, `/api/simple/applications/...`, `/api/simple/environments/...`"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from fastapi import Response

from lamina.api.deps import ProjectDeployer, ProjectEditor, ProjectViewer, SessionDep
from lamina.api.routing import DeferredRouter
from lamina.applications import responses, schemas
from lamina.artifacts.envelopes import ONLY_SET_FIELDS, many, one
from lamina.artifacts.routes import ArtifactRoutes

if TYPE_CHECKING:
    from lamina.applications import service as registry
    from lamina.applications import simple
else:
    from lamina.lazy import lazy_module

    registry = lazy_module("lamina.applications.service")
    simple = lazy_module("lamina.applications.simple")

router = DeferredRouter(tags=["applications"])
simple_router = DeferredRouter(tags=["simple applications"])
APPLICATION_ROUTES = ArtifactRoutes(
    router, "/applications", "application", responses.ApplicationResponse, kind=lambda: registry.APPLICATIONS
)


# ---------------------------------------------------------------- applications


@router.post("/applications/", response_model=responses.ApplicationResponse, **ONLY_SET_FIELDS)
def create_application(
    body: schemas.ApplicationCreate, session: SessionDep, principal: ProjectEditor
) -> dict[str, Any]:
    app = registry.create_application(session, principal, body.application)
    return one("application", registry.application_view(app))


@router.post("/applications/query", response_model=responses.ApplicationsResponse, **ONLY_SET_FIELDS)
def query_applications(
    body: schemas.ApplicationQuery, session: SessionDep, principal: ProjectViewer
) -> dict[str, Any]:
    window = registry.query_applications(session, principal, body)
    return many("applications", [registry.application_view(app) for app in window.items], window.next)


# Static paths (`/variants/...`, `/revisions/...`) are declared before `/{application_id}` below.


@router.post("/applications/variants/", response_model=responses.VariantResponse, **ONLY_SET_FIELDS)
def create_variant(
    body: schemas.VariantCreate, session: SessionDep, principal: ProjectEditor
) -> dict[str, Any]:
    variant = registry.create_variant(session, principal, body.application_variant)
    return one("application_variant", registry.variant_view(variant))


@router.post("/applications/variants/query", response_model=responses.VariantsResponse, **ONLY_SET_FIELDS)
def query_variants(
    body: schemas.VariantQuery, session: SessionDep, principal: ProjectViewer
) -> dict[str, Any]:
    window = registry.query_variants(session, principal, body)
    return many("application_variants", [registry.variant_view(v) for v in window.items], window.next)


@router.post("/applications/variants/fork", response_model=responses.ForkResponse, **ONLY_SET_FIELDS)
def fork_variant(body: schemas.VariantFork, session: SessionDep, principal: ProjectEditor) -> dict[str, Any]:
    variant, revision = registry.fork_variant(session, principal, body)
    return one(
        "application_variant",
        registry.variant_view(variant),
        application_revision=registry.revision_view(revision),
    )


APPLICATION_ROUTES.declare_variant_route(responses.VariantResponse)


@router.post(
    "/applications/variants/{variant_id}/archive", response_model=responses.VariantResponse, **ONLY_SET_FIELDS
)
def archive_variant(variant_id: uuid.UUID, session: SessionDep, principal: ProjectEditor) -> dict[str, Any]:
    variant = registry.set_variant_archived(session, principal, variant_id, archived=True)
    return one("application_variant", registry.variant_view(variant))


@router.post(
    "/applications/variants/{variant_id}/unarchive",
    response_model=responses.VariantResponse,
    **ONLY_SET_FIELDS,
)
def unarchive_variant(variant_id: uuid.UUID, session: SessionDep, principal: ProjectEditor) -> dict[str, Any]:
    variant = registry.set_variant_archived(session, principal, variant_id, archived=False)
    return one("application_variant", registry.variant_view(variant))


@router.post("/applications/revisions/commit", response_model=responses.RevisionResponse, **ONLY_SET_FIELDS)
def commit_revision(
    body: schemas.RevisionCommit, session: SessionDep, principal: ProjectEditor
) -> dict[str, Any]:
    revision = registry.commit_revision(session, principal, body.application_revision)
    return one("application_revision", registry.revision_view(revision))


@router.post("/applications/revisions/retrieve", response_model=responses.RetrieveResponse, **ONLY_SET_FIELDS)
def retrieve_revision(
    body: schemas.RevisionRetrieve, session: SessionDep, principal: ProjectViewer
) -> Response:
    # The SDK's per-request call: the body comes encoded by the response model, and cached so.
    return Response(registry.retrieve_json(session, principal, body), media_type="application/json")


@router.post("/applications/revisions/log", response_model=responses.RevisionsResponse, **ONLY_SET_FIELDS)
def log_revisions(body: schemas.RevisionLog, session: SessionDep, principal: ProjectViewer) -> dict[str, Any]:
    revisions = registry.log_revisions(session, principal, body)
    return many("application_revisions", [registry.revision_view(r) for r in revisions])


@router.post("/applications/revisions/query", response_model=responses.RevisionsResponse, **ONLY_SET_FIELDS)
def query_revisions(
    body: schemas.RevisionQuery, session: SessionDep, principal: ProjectViewer
) -> dict[str, Any]:
    window = registry.query_revisions(session, principal, body)
    return many("application_revisions", [registry.revision_view(r) for r in window.items], window.next)


@router.post("/applications/revisions/deploy", response_model=responses.DeployResponse, **ONLY_SET_FIELDS)
def deploy_revision(
    body: schemas.RevisionDeploy, session: SessionDep, principal: ProjectDeployer
) -> dict[str, Any]:
    deployed = registry.deploy(session, principal, body)
    return one(
        "environment_revision",
        registry.environment_revision_view(deployed.environment_revision, deployed.environment),
        application_revision=registry.revision_view(deployed.revision),
    )


APPLICATION_ROUTES.declare_revision_route(responses.RevisionResponse)

APPLICATION_ROUTES.declare_artifact_routes(
    edit=lambda session, principal, application_id, edits: registry.edit_application(
        session, principal, application_id, edits
    ),
    edit_request=schemas.ApplicationEdit,
)


# ---------------------------------------------------------------- environments


@router.get(
    "/environments/", tags=["environments"], response_model=responses.EnvironmentsResponse, **ONLY_SET_FIELDS
)
def list_environments(session: SessionDep, principal: ProjectViewer) -> dict[str, Any]:
    environments = registry.list_environments(session, principal)
    return many("environments", [registry.environment_view(e) for e in environments])


@router.post(
    "/environments/revisions/log",
    tags=["environments"],
    response_model=responses.EnvironmentRevisionsResponse,
    **ONLY_SET_FIELDS,
)
def environment_log(
    body: schemas.EnvironmentLog, session: SessionDep, principal: ProjectViewer
) -> dict[str, Any]:
    environment, window = registry.environment_log(session, principal, body)
    views = [registry.environment_revision_view(d, environment) for d in window.items]
    return many("environment_revisions", views, window.next)


# ---------------------------------------------------------------- simple


@simple_router.post(
    "/simple/applications/", response_model=responses.SimpleApplicationResponse, **ONLY_SET_FIELDS
)
def simple_create(
    body: schemas.SimpleApplicationCreate, session: SessionDep, principal: ProjectEditor
) -> dict[str, Any]:
    app = simple.create(session, principal, body.application)
    return one("application", simple.view(session, app))


@simple_router.post(
    "/simple/applications/query", response_model=responses.SimpleApplicationsResponse, **ONLY_SET_FIELDS
)
def simple_query(
    body: schemas.ApplicationQuery, session: SessionDep, principal: ProjectViewer
) -> dict[str, Any]:
    window = registry.query_applications(session, principal, body)
    return many("applications", [simple.view(session, app) for app in window.items], window.next)


APPLICATION_ROUTES.simple_api(
    responses.SimpleApplicationResponse, lambda session, app: simple.view(session, app), router=simple_router
).declare_artifact_routes(
    edit=lambda session, principal, application_id, edits: simple.edit(
        session, principal, application_id, edits
    ),
    edit_request=schemas.SimpleApplicationEdit,
)


@simple_router.post(
    "/simple/environments/query", response_model=responses.SimpleEnvironmentsResponse, **ONLY_SET_FIELDS
)
def simple_environments(
    body: schemas.EnvironmentQuery, session: SessionDep, principal: ProjectViewer
) -> dict[str, Any]:
    environments = registry.environments_with_deployments(session, principal, body)
    return many("environments", environments)
