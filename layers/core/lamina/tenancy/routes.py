"""`/api/projects`, `/api/workspaces`, `/api/organizations`, members and roles, `/api/keys/`."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from lamina.api.deps import (
    CurrentPrincipal,
    KeysManager,
    MembersManager,
    ProjectsManager,
    ProjectViewer,
    SessionDep,
)
from lamina.api.routing import DeferredRouter
from lamina.tenancy import schemas
from lamina.tenancy.principal import PrincipalKind
from lamina.tenancy.roles import Role

if TYPE_CHECKING:
    from lamina.tenancy import api_keys as keys
    from lamina.tenancy import service as tenancy
else:
    from lamina.lazy import lazy_module

    keys = lazy_module("lamina.tenancy.api_keys")
    tenancy = lazy_module("lamina.tenancy.service")

router = DeferredRouter(tags=["accounts"])
keys_router = DeferredRouter(tags=["api keys"])


# ---------------------------------------------------------------- projects


@router.get("/projects/current")
def current_project(session: SessionDep, principal: ProjectViewer) -> schemas.ProjectResponse:
    project = tenancy.get_project(session, principal)
    view = schemas.ProjectView.of(project, principal.role, principal.project_id)
    return schemas.ProjectResponse(count=1, project=view)


@router.get("/projects")
def list_projects(session: SessionDep, principal: ProjectViewer) -> schemas.ProjectsResponse:
    rows = tenancy.list_projects(session, principal)
    views = [schemas.ProjectView.of(project, role, principal.project_id) for project, role in rows]
    return schemas.ProjectsResponse(count=len(views), projects=views)


@router.post("/projects")
def create_project(
    body: schemas.ProjectCreate, session: SessionDep, principal: ProjectsManager
) -> schemas.ProjectResponse:
    project = tenancy.create_project(session, principal, name=body.name)
    view = schemas.ProjectView.of(project, principal.role, principal.project_id)
    return schemas.ProjectResponse(count=1, project=view)


@router.put("/projects/current")
def rename_project(
    body: schemas.ProjectEdit, session: SessionDep, principal: ProjectsManager
) -> schemas.ProjectResponse:
    project = tenancy.rename_project(session, principal, name=body.name)
    view = schemas.ProjectView.of(project, principal.role, principal.project_id)
    return schemas.ProjectResponse(count=1, project=view)


# ---------------------------------------------------------------- organizations and workspaces


@router.get("/organizations")
def list_organizations(session: SessionDep, principal: CurrentPrincipal) -> schemas.OrganizationsResponse:
    if principal.kind is PrincipalKind.USER and principal.user_id is not None:
        organizations = tenancy.list_organizations(session, principal.user_id)
    else:
        organizations = [tenancy.get_organization(session, principal.organization_id)]
    views = [schemas.OrganizationView.model_validate(organization) for organization in organizations]
    return schemas.OrganizationsResponse(count=len(views), organizations=views)


@router.get("/workspaces")
def list_workspaces(session: SessionDep, principal: CurrentPrincipal) -> schemas.WorkspacesResponse:
    if principal.kind is PrincipalKind.USER and principal.user_id is not None:
        rows = tenancy.list_workspaces(session, principal.user_id)
    else:
        rows = [(tenancy.get_workspace(session, principal.workspace_id), principal.role)]
    views = [
        schemas.WorkspaceView(id=w.id, name=w.name, organization_id=w.organization_id, role=Role(role))
        for w, role in rows
    ]
    return schemas.WorkspacesResponse(count=len(views), workspaces=views)


@router.get("/workspaces/{workspace_id}/members")
def list_members(
    workspace_id: uuid.UUID, session: SessionDep, principal: ProjectViewer
) -> schemas.MembersResponse:
    members = tenancy.list_members(session, principal, workspace_id)
    views = [schemas.MemberView.of(membership, user) for membership, user in members]
    return schemas.MembersResponse(count=len(views), members=views)


@router.post("/workspaces/{workspace_id}/members")
def add_member(
    workspace_id: uuid.UUID, body: schemas.MemberAdd, session: SessionDep, principal: MembersManager
) -> schemas.MemberResponse:
    membership, user = tenancy.add_member(
        session, principal, workspace_id, email=body.email, role=body.role.value
    )
    return schemas.MemberResponse(count=1, member=schemas.MemberView.of(membership, user))


@router.put("/workspaces/{workspace_id}/members/{user_id}")
def change_member_role(
    workspace_id: uuid.UUID,
    user_id: uuid.UUID,
    body: schemas.MemberEdit,
    session: SessionDep,
    principal: MembersManager,
) -> schemas.MemberResponse:
    membership, user = tenancy.change_member_role(
        session, principal, workspace_id, user_id, role=body.role.value
    )
    return schemas.MemberResponse(count=1, member=schemas.MemberView.of(membership, user))


@router.delete("/workspaces/{workspace_id}/members/{user_id}")
def remove_member(
    workspace_id: uuid.UUID, user_id: uuid.UUID, session: SessionDep, principal: MembersManager
) -> schemas.MemberRemovedResponse:
    tenancy.remove_member(session, principal, workspace_id, user_id)
    return schemas.MemberRemovedResponse(count=1, member=schemas.RemovedMember(user_id=user_id, removed=True))


# ---------------------------------------------------------------- API keys


@keys_router.post("/keys/")
def create_key(
    body: schemas.ApiKeyCreate, session: SessionDep, principal: KeysManager
) -> schemas.ApiKeyCreatedResponse:
    key, plaintext = keys.create_api_key(
        session,
        principal,
        name=body.name,
        role=body.role.value if body.role else None,
        expires_at=body.expires_at,
    )
    # The only time the secret is ever returned.
    created = schemas.CreatedApiKey(**schemas.ApiKeyView.of(key).model_dump(), key=plaintext)
    return schemas.ApiKeyCreatedResponse(count=1, api_key=created)


@keys_router.get("/keys/")
def list_keys(session: SessionDep, principal: KeysManager) -> schemas.ApiKeysResponse:
    views = [schemas.ApiKeyView.of(key) for key in keys.list_api_keys(session, principal)]
    return schemas.ApiKeysResponse(count=len(views), api_keys=views)


@keys_router.delete("/keys/{key_id}")
def revoke_key(
    key_id: uuid.UUID, session: SessionDep, principal: KeysManager
) -> schemas.ApiKeyRevokedResponse:
    key = keys.revoke_api_key(session, principal, key_id)
    return schemas.ApiKeyRevokedResponse(count=1, api_key=schemas.RevokedApiKey.model_validate(key))
