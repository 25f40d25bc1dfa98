"""`/api/projects`, `/api/workspaces`, `/api/organizations`, members and roles, `/api/keys/`."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter

from lamina.auth.deps import (
    CurrentPrincipal,
    KeysManager,
    MembersManager,
    ProjectsManager,
    ProjectViewer,
    SessionDep,
)
from lamina.auth.principal import Principal, PrincipalKind
from lamina.tenancy import schemas

if TYPE_CHECKING:
    from lamina.tenancy import service as tenancy
else:
    from lamina.lazy import lazy_module

    tenancy = lazy_module("lamina.tenancy.service")

router = APIRouter(tags=["accounts"])
keys_router = APIRouter(tags=["api keys"])


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _project_view(project: Any, role: str, principal: Principal) -> dict[str, Any]:
    return {
        "id": str(project.id),
        "project_id": str(project.id),
        "name": project.name,
        "project_name": project.name,
        "workspace_id": str(project.workspace_id),
        "organization_id": str(project.organization_id),
        "is_default": project.is_default,
        "is_current": project.id == principal.project_id,
        "role": role,
        "created_at": _iso(project.created_at),
    }


def _member_view(membership: Any, user: Any) -> dict[str, Any]:
    return {
        "user_id": str(user.id),
        "email": user.email,
        "name": user.name,
        "role": membership.role,
        "workspace_id": str(membership.workspace_id),
        "joined": user.cognito_sub is not None,
        "created_at": _iso(membership.created_at),
    }


# ---------------------------------------------------------------- projects


@router.get("/projects/current", response_model=None)
def current_project(session: SessionDep, principal: ProjectViewer) -> dict[str, Any]:
    project = tenancy.get_project(session, principal)
    return {"count": 1, "project": _project_view(project, principal.role, principal)}


@router.get("/projects", response_model=None)
def list_projects(session: SessionDep, principal: ProjectViewer) -> dict[str, Any]:
    rows = tenancy.list_projects(session, principal)
    return {"count": len(rows), "projects": [_project_view(p, role, principal) for p, role in rows]}


@router.post("/projects", response_model=None)
def create_project(
    body: schemas.ProjectCreate, session: SessionDep, principal: ProjectsManager
) -> dict[str, Any]:
    project = tenancy.create_project(session, principal, name=body.name)
    return {"count": 1, "project": _project_view(project, principal.role, principal)}


@router.put("/projects/current", response_model=None)
def rename_project(
    body: schemas.ProjectEdit, session: SessionDep, principal: ProjectsManager
) -> dict[str, Any]:
    project = tenancy.rename_project(session, principal, name=body.name)
    return {"count": 1, "project": _project_view(project, principal.role, principal)}


# ---------------------------------------------------------------- organizations and workspaces


@router.get("/organizations", response_model=None)
def list_organizations(session: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    if principal.kind is PrincipalKind.USER and principal.user_id is not None:
        organizations = tenancy.list_organizations(session, principal.user_id)
    else:
        organizations = [tenancy.get_organization(session, principal.organization_id)]
    views = [
        {"id": str(o.id), "name": o.name, "slug": o.slug, "created_at": _iso(o.created_at)}
        for o in organizations
    ]
    return {"count": len(views), "organizations": views}


@router.get("/workspaces", response_model=None)
def list_workspaces(session: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    if principal.kind is PrincipalKind.USER and principal.user_id is not None:
        rows = tenancy.list_workspaces(session, principal.user_id)
    else:
        rows = [(tenancy.get_workspace(session, principal.workspace_id), principal.role)]
    views = [
        {"id": str(w.id), "name": w.name, "organization_id": str(w.organization_id), "role": role}
        for w, role in rows
    ]
    return {"count": len(views), "workspaces": views}


@router.get("/workspaces/{workspace_id}/members", response_model=None)
def list_members(workspace_id: uuid.UUID, session: SessionDep, principal: ProjectViewer) -> dict[str, Any]:
    members = tenancy.list_members(session, principal, workspace_id)
    return {"count": len(members), "members": [_member_view(m, u) for m, u in members]}


@router.post("/workspaces/{workspace_id}/members", response_model=None)
def add_member(
    workspace_id: uuid.UUID, body: schemas.MemberAdd, session: SessionDep, principal: MembersManager
) -> dict[str, Any]:
    membership, user = tenancy.add_member(
        session, principal, workspace_id, email=body.email, role=body.role.value
    )
    return {"count": 1, "member": _member_view(membership, user)}


@router.put("/workspaces/{workspace_id}/members/{user_id}", response_model=None)
def change_member_role(
    workspace_id: uuid.UUID,
    user_id: uuid.UUID,
    body: schemas.MemberEdit,
    session: SessionDep,
    principal: MembersManager,
) -> dict[str, Any]:
    membership, user = tenancy.change_member_role(
        session, principal, workspace_id, user_id, role=body.role.value
    )
    return {"count": 1, "member": _member_view(membership, user)}


@router.delete("/workspaces/{workspace_id}/members/{user_id}", response_model=None)
def remove_member(
    workspace_id: uuid.UUID, user_id: uuid.UUID, session: SessionDep, principal: MembersManager
) -> dict[str, Any]:
    tenancy.remove_member(session, principal, workspace_id, user_id)
    return {"count": 1, "member": {"user_id": str(user_id), "removed": True}}


# ---------------------------------------------------------------- API keys


@keys_router.post("/keys/", response_model=None)
def create_key(body: schemas.ApiKeyCreate, session: SessionDep, principal: KeysManager) -> dict[str, Any]:
    key, plaintext = tenancy.create_api_key(
        session,
        principal,
        name=body.name,
        role=body.role.value if body.role else None,
        expires_at=body.expires_at,
    )
    # The only time the secret is ever returned.
    return {"count": 1, "api_key": {**tenancy.api_key_view(key), "key": plaintext}}


@keys_router.get("/keys/", response_model=None)
def list_keys(session: SessionDep, principal: KeysManager) -> dict[str, Any]:
    keys = tenancy.list_api_keys(session, principal)
    return {"count": len(keys), "api_keys": [tenancy.api_key_view(key) for key in keys]}


@keys_router.delete("/keys/{key_id}", response_model=None)
def revoke_key(key_id: uuid.UUID, session: SessionDep, principal: KeysManager) -> dict[str, Any]:
    key = tenancy.revoke_api_key(session, principal, key_id)
    return {"count": 1, "api_key": {**tenancy.api_key_view(key), "revoked_at": _iso(key.revoked_at)}}
