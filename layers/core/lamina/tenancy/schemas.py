"""Request bodies and response shapes of the tenancy routes."""

# No `from __future__ import annotations` here: pydantic would compile and evaluate each field's annotation
# string when the class is made, at the API function's cold start (see lamina.api.schemas.Model).

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from lamina.api.schemas import Body, View
from lamina.tenancy.roles import Role

if TYPE_CHECKING:
    from lamina.tenancy.models import ApiKey, Membership, Project, User

Name = Annotated[str, Field(min_length=1, max_length=200)]
Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)]


# ---------------------------------------------------------------- requests


class ProjectCreate(Body):
    name: Name


class ProjectEdit(Body):
    name: Name


class MemberAdd(Body):
    email: Email
    role: Role = Role.VIEWER


class MemberEdit(Body):
    role: Role


class ApiKeyCreate(Body):
    name: Annotated[str, Field(max_length=200)] | None = None
    role: Role | None = None
    expires_at: datetime | None = None


# ---------------------------------------------------------------- responses


class ProjectView(View):
    id: uuid.UUID
    project_id: uuid.UUID = Field(description="The same as `id` (Agenta's name for it).")
    name: str
    project_name: str = Field(description="The same as `name` (Agenta's name for it).")
    workspace_id: uuid.UUID
    organization_id: uuid.UUID
    is_default: bool
    is_current: bool = Field(description="Whether this request acts in this project.")
    role: Role = Field(description="The caller's role in this project.")
    created_at: datetime

    @classmethod
    def of(cls, project: "Project", role: str, current_project_id: uuid.UUID) -> "ProjectView":
        return cls(
            id=project.id,
            project_id=project.id,
            name=project.name,
            project_name=project.name,
            workspace_id=project.workspace_id,
            organization_id=project.organization_id,
            is_default=project.is_default,
            is_current=project.id == current_project_id,
            role=Role(role),
            created_at=project.created_at,
        )


class ProjectResponse(View):
    count: int
    project: ProjectView


class ProjectsResponse(View):
    count: int
    projects: list[ProjectView]


class OrganizationView(View):
    id: uuid.UUID
    name: str
    slug: str
    created_at: datetime


class OrganizationsResponse(View):
    count: int
    organizations: list[OrganizationView]


class WorkspaceView(View):
    id: uuid.UUID
    name: str
    organization_id: uuid.UUID
    role: Role = Field(description="The caller's role in this workspace.")


class WorkspacesResponse(View):
    count: int
    workspaces: list[WorkspaceView]


class MemberView(View):
    user_id: uuid.UUID
    email: str
    name: str | None
    role: Role
    workspace_id: uuid.UUID
    joined: bool = Field(description="False while an invited user has not signed in yet.")
    created_at: datetime

    @classmethod
    def of(cls, membership: "Membership", user: "User") -> "MemberView":
        return cls(
            user_id=user.id,
            email=user.email,
            name=user.name,
            role=Role(membership.role),
            workspace_id=membership.workspace_id,
            joined=user.cognito_sub is not None,
            created_at=membership.created_at,
        )


class MemberResponse(View):
    count: int
    member: MemberView


class MembersResponse(View):
    count: int
    members: list[MemberView]


class RemovedMember(View):
    user_id: uuid.UUID
    removed: Literal[True]


class MemberRemovedResponse(View):
    count: int
    member: RemovedMember


class ApiKeyView(View):
    id: uuid.UUID
    prefix: str
    name: str | None
    role: Role
    project_id: uuid.UUID
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, key: "ApiKey") -> "ApiKeyView":
        return cls.model_validate(key)


class CreatedApiKey(ApiKeyView):
    key: str = Field(description="`<prefix>.<secret>`: returned this once, never again.")


class RevokedApiKey(ApiKeyView):
    revoked_at: datetime


class ApiKeyCreatedResponse(View):
    count: int
    api_key: CreatedApiKey


class ApiKeysResponse(View):
    count: int
    api_keys: list[ApiKeyView]


class ApiKeyRevokedResponse(View):
    count: int
    api_key: RevokedApiKey
