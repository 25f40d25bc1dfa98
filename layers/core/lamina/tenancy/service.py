"""Tenancy: first sign-in bootstrap, project resolution for principals, members, projects, the local seed."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lamina.errors import ConflictError, ForbiddenError, NotFoundError
from lamina.events.outbox import stage_event
from lamina.settings import get_settings
from lamina.state import current
from lamina.tenancy.api_key_store import PREFIX_MARKER, generate_key
from lamina.tenancy.api_keys import create_api_key
from lamina.tenancy.models import ApiKey, Membership, Organization, Project, User, Workspace
from lamina.tenancy.principal import Principal, PrincipalKind
from lamina.tenancy.roles import Role, check_can_grant

DEFAULT_WORKSPACE_NAME = "Default"
DEFAULT_PROJECT_NAME = "Default"
SLUG_MAX = 60
LOCAL_SEED_KEY_NAME = "lamina-local"


@dataclass(frozen=True)
class ProjectScope:
    project_id: uuid.UUID
    workspace_id: uuid.UUID
    organization_id: uuid.UUID


def _slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:SLUG_MAX] or "org"
    return f"{slug}-{secrets.token_hex(3)}"


# ---------------------------------------------------------------- users and first sign-in


def bootstrap_user(
    session: Session, *, email: str, cognito_sub: str | None, name: str | None = None
) -> tuple[User, Project]:
    """Find the user (by Cognito sub, then by invited email) or create them with their own org/workspace/project."""
    user = None
    if cognito_sub:
        user = session.execute(select(User).where(User.cognito_sub == cognito_sub)).scalar_one_or_none()
    if user is None:
        user = session.execute(
            select(User).where(func.lower(User.email) == email.lower())
        ).scalar_one_or_none()
        if user is not None and cognito_sub and user.cognito_sub is None:
            user.cognito_sub = cognito_sub  # an invited user signing in for the first time
    if user is None:
        try:
            with session.begin_nested():
                user = User(email=email.lower(), cognito_sub=cognito_sub, name=name)
                session.add(user)
                session.flush()
        except IntegrityError:
            # Two first requests of the same user raced: the other one created it.
            user = session.execute(
                select(User).where(
                    (User.cognito_sub == cognito_sub) | (func.lower(User.email) == email.lower())
                )
            ).scalar_one()
    project = default_project(session, user.id)
    if project is None:
        project = _create_personal_tenancy(session, user)
    return user, project


def _create_personal_tenancy(session: Session, user: User) -> Project:
    display = user.name or user.email.split("@", 1)[0]
    organization = Organization(name=f"{display}'s organization", slug=_slugify(display))
    session.add(organization)
    session.flush()
    workspace = Workspace(organization_id=organization.id, name=DEFAULT_WORKSPACE_NAME)
    session.add(workspace)
    session.flush()
    project = Project(
        workspace_id=workspace.id, organization_id=organization.id, name=DEFAULT_PROJECT_NAME, is_default=True
    )
    session.add(project)
    session.add(Membership(workspace_id=workspace.id, user_id=user.id, role=Role.OWNER.value))
    session.flush()
    stage_event(
        session,
        "tenancy.organization.created",
        {"organization_id": str(organization.id), "project_id": str(project.id), "user_id": str(user.id)},
        project_id=project.id,
    )
    return project


def user_by_cognito_sub(session: Session, cognito_sub: str) -> User | None:
    return session.execute(select(User).where(User.cognito_sub == cognito_sub)).scalar_one_or_none()


def default_project(session: Session, user_id: uuid.UUID) -> Project | None:
    """The user's default project: the default project of their oldest membership, else any of theirs."""
    row = session.execute(
        select(Project)
        .join(Membership, Membership.workspace_id == Project.workspace_id)
        .where(Membership.user_id == user_id)
        .order_by(Membership.created_at, Project.is_default.desc(), Project.created_at)
        .limit(1)
    ).scalar_one_or_none()
    return row


def user_role_in_project(
    session: Session, user_id: uuid.UUID, project_id: uuid.UUID
) -> tuple[Project, str] | None:
    row = session.execute(
        select(Project, Membership.role)
        .join(Membership, Membership.workspace_id == Project.workspace_id)
        .where(Project.id == project_id, Membership.user_id == user_id)
    ).first()
    return (row[0], row[1]) if row else None


def user_principal(session: Session, user: User, requested_project_id: uuid.UUID | None) -> Principal:
    if requested_project_id is None:
        project = default_project(session, user.id)
        if project is None:
            raise NotFoundError("you are not a member of any project")
        requested_project_id = project.id
    found = user_role_in_project(session, user.id, requested_project_id)
    if found is None:
        raise NotFoundError(f"project {requested_project_id} not found")
    project, role = found
    return Principal(
        kind=PrincipalKind.USER,
        project_id=project.id,
        workspace_id=project.workspace_id,
        organization_id=project.organization_id,
        role=role,
        user_id=user.id,
    )


PROJECT_SCOPE_CACHE_MAX = 10_000


def project_scope(session: Session, project_id: uuid.UUID) -> ProjectScope:
    """The workspace and organization of a project (they never change, so they are cached in-process)."""
    project_scopes: dict[uuid.UUID, ProjectScope] = current().memo("tenancy:project_scopes", dict)
    scope = project_scopes.get(project_id)
    if scope is None:
        project = session.get(Project, project_id)
        if project is None:
            raise NotFoundError(f"project {project_id} not found")
        scope = ProjectScope(project.id, project.workspace_id, project.organization_id)
        if len(project_scopes) >= PROJECT_SCOPE_CACHE_MAX:
            project_scopes.clear()
        project_scopes[project_id] = scope
    return scope


# ---------------------------------------------------------------- organizations, workspaces, projects


def list_organizations(session: Session, user_id: uuid.UUID) -> list[Organization]:
    return list(
        session.execute(
            select(Organization)
            .join(Workspace, Workspace.organization_id == Organization.id)
            .join(Membership, Membership.workspace_id == Workspace.id)
            .where(Membership.user_id == user_id)
            .distinct()
            .order_by(Organization.created_at)
        ).scalars()
    )


def list_workspaces(session: Session, user_id: uuid.UUID) -> list[tuple[Workspace, str]]:
    rows = session.execute(
        select(Workspace, Membership.role)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(Membership.user_id == user_id)
        .order_by(Workspace.created_at)
    ).all()
    return [(row[0], row[1]) for row in rows]


def list_projects(session: Session, principal: Principal) -> list[tuple[Project, str]]:
    """Projects the caller can act in: every project of the user's workspaces; a key or token sees its own."""
    if principal.kind is PrincipalKind.USER and principal.user_id is not None:
        rows = session.execute(
            select(Project, Membership.role)
            .join(Membership, Membership.workspace_id == Project.workspace_id)
            .where(Membership.user_id == principal.user_id)
            .order_by(Project.created_at)
        ).all()
        return [(row[0], row[1]) for row in rows]
    project = session.get(Project, principal.project_id)
    return [(project, principal.role)] if project else []


def get_project(session: Session, principal: Principal) -> Project:
    project = session.get(Project, principal.project_id)
    if project is None:
        raise NotFoundError("project not found")
    return project


def create_project(session: Session, principal: Principal, *, name: str) -> Project:
    """A new project in the caller's current workspace."""
    project = Project(
        workspace_id=principal.workspace_id,
        organization_id=principal.organization_id,
        name=name,
        is_default=False,
    )
    session.add(project)
    session.flush()
    stage_event(
        session,
        "tenancy.project.created",
        {"project_id": str(project.id), "name": name},
        project_id=project.id,
    )
    return project


def rename_project(session: Session, principal: Principal, *, name: str) -> Project:
    project = get_project(session, principal)
    project.name = name
    session.flush()
    return project


# ---------------------------------------------------------------- members


def _check_workspace(principal: Principal, workspace_id: uuid.UUID) -> None:
    if workspace_id != principal.workspace_id:
        raise NotFoundError(f"workspace {workspace_id} not found")


def list_members(
    session: Session, principal: Principal, workspace_id: uuid.UUID
) -> list[tuple[Membership, User]]:
    _check_workspace(principal, workspace_id)
    rows = session.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.workspace_id == workspace_id)
        .order_by(Membership.created_at)
    ).all()
    return [(row[0], row[1]) for row in rows]


def add_member(
    session: Session, principal: Principal, workspace_id: uuid.UUID, *, email: str, role: str
) -> tuple[Membership, User]:
    """Invite by email: an unknown email becomes a user without a Cognito identity until they sign in."""
    _check_workspace(principal, workspace_id)
    check_can_grant(principal, role)
    user = session.execute(select(User).where(func.lower(User.email) == email.lower())).scalar_one_or_none()
    if user is None:
        user = User(email=email.lower())
        session.add(user)
        session.flush()
    exists = session.execute(
        select(Membership).where(Membership.workspace_id == workspace_id, Membership.user_id == user.id)
    ).scalar_one_or_none()
    if exists is not None:
        raise ConflictError(f"{email} is already a member of this workspace")
    membership = Membership(workspace_id=workspace_id, user_id=user.id, role=role)
    session.add(membership)
    session.flush()
    stage_event(
        session,
        "tenancy.member.added",
        {"workspace_id": str(workspace_id), "user_id": str(user.id), "role": role},
        project_id=principal.project_id,
    )
    return membership, user


def _membership(session: Session, workspace_id: uuid.UUID, user_id: uuid.UUID) -> Membership:
    membership = session.execute(
        select(Membership).where(Membership.workspace_id == workspace_id, Membership.user_id == user_id)
    ).scalar_one_or_none()
    if membership is None:
        raise NotFoundError(f"member {user_id} not found")
    return membership


def _owner_count(session: Session, workspace_id: uuid.UUID) -> int:
    return int(
        session.execute(
            select(func.count())
            .select_from(Membership)
            .where(Membership.workspace_id == workspace_id, Membership.role == Role.OWNER.value)
        ).scalar_one()
    )


def change_member_role(
    session: Session, principal: Principal, workspace_id: uuid.UUID, user_id: uuid.UUID, *, role: str
) -> tuple[Membership, User]:
    _check_workspace(principal, workspace_id)
    check_can_grant(principal, role)
    membership = _membership(session, workspace_id, user_id)
    # Nobody below a member's rank may change that member (an admin cannot demote an owner).
    check_can_grant(principal, membership.role)
    if membership.role == Role.OWNER and role != Role.OWNER and _owner_count(session, workspace_id) <= 1:
        raise ConflictError("a workspace keeps at least one owner")
    membership.role = role
    session.flush()
    user = session.get(User, user_id)
    assert user is not None
    return membership, user


def remove_member(
    session: Session, principal: Principal, workspace_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    _check_workspace(principal, workspace_id)
    membership = _membership(session, workspace_id, user_id)
    check_can_grant(principal, membership.role)
    if membership.role == Role.OWNER and _owner_count(session, workspace_id) <= 1:
        raise ConflictError("a workspace keeps at least one owner")
    session.delete(membership)
    session.flush()


# ---------------------------------------------------------------- local seed (`lamina up`)


def seed_local_user(
    session: Session, email: str, *, cognito_sub: str | None = None, name: str | None = None
) -> tuple[User, Project, str]:
    """Idempotent: the local user, their project, and an API key that stays the same across `lamina up` runs.

    The key is derived from LAMINA_SECRET_KEY and the email, so it is stable locally (a developer's `.env`
    keeps working) and impossible to reproduce without the secret. Refused outside local mode.
    """
    settings = get_settings()
    if not settings.is_local:
        raise ForbiddenError("seeding a local user is only allowed in local or test mode")
    user, project = bootstrap_user(session, email=email, cognito_sub=cognito_sub, name=name)
    if cognito_sub and user.cognito_sub != cognito_sub:
        user.cognito_sub = cognito_sub
    digest = hmac.new(
        settings.secret_key.encode(), f"local-seed-key:{email.lower()}".encode(), hashlib.sha256
    )
    material = digest.hexdigest()
    generated = generate_key(prefix=f"{PREFIX_MARKER}{material[:12]}", secret=material[12:])
    existing = session.execute(select(ApiKey).where(ApiKey.prefix == generated.prefix)).scalar_one_or_none()
    if existing is None or existing.revoked_at is not None:
        if existing is not None:  # revoked by hand: re-seeding hands out a working key again
            session.delete(existing)
            session.flush()
        found = user_role_in_project(session, user.id, project.id)
        role = found[1] if found else Role.OWNER.value
        principal = Principal(
            kind=PrincipalKind.USER,
            project_id=project.id,
            workspace_id=project.workspace_id,
            organization_id=project.organization_id,
            role=role,
            user_id=user.id,
        )
        create_api_key(session, principal, name=LOCAL_SEED_KEY_NAME, role=role, generated=generated)
    return user, project, generated.plaintext


def get_organization(session: Session, organization_id: uuid.UUID) -> Organization:
    organization = session.get(Organization, organization_id)
    if organization is None:
        raise NotFoundError("organization not found")
    return organization


def get_workspace(session: Session, workspace_id: uuid.UUID) -> Workspace:
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFoundError("workspace not found")
    return workspace
