"""Membership roles and what each may do (kept apart from the models so permission checks import no SQLAlchemy)."""

from __future__ import annotations

from enum import StrEnum

from lamina.errors import ForbiddenError, ValidationFailedError
from lamina.tenancy.principal import Principal


class Role(StrEnum):
    """Membership roles, most powerful first."""

    OWNER = "owner"
    ADMIN = "admin"
    EDITOR = "editor"
    VIEWER = "viewer"


class Permission(StrEnum):
    VIEW = "view"  # read anything in the project (secrets only masked)
    EDIT = "edit"  # create and change registry objects, test sets, evaluations...
    DEPLOY = "deploy"  # deploy revisions to environments
    MANAGE_SECRETS = "manage_secrets"
    MANAGE_KEYS = "manage_keys"
    MANAGE_MEMBERS = "manage_members"
    MANAGE_PROJECTS = "manage_projects"
    MANAGE_OWNERS = "manage_owners"  # grant or take the owner role


_VIEWER = frozenset({Permission.VIEW})
_EDITOR = _VIEWER | {Permission.EDIT, Permission.DEPLOY, Permission.MANAGE_SECRETS, Permission.MANAGE_KEYS}
_ADMIN = _EDITOR | {Permission.MANAGE_MEMBERS, Permission.MANAGE_PROJECTS}
_OWNER = _ADMIN | {Permission.MANAGE_OWNERS}

ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    Role.VIEWER: _VIEWER,
    Role.EDITOR: _EDITOR,
    Role.ADMIN: _ADMIN,
    Role.OWNER: _OWNER,
}
# Most powerful first: a role may hand out only roles at or below its own rank.
ROLE_RANK: dict[str, int] = {Role.OWNER: 4, Role.ADMIN: 3, Role.EDITOR: 2, Role.VIEWER: 1}


def permissions_of(role: str) -> frozenset[Permission]:
    return ROLE_PERMISSIONS.get(role, frozenset())


def has_permission(principal: Principal, permission: Permission) -> bool:
    return permission in permissions_of(principal.role)


def check_permission(principal: Principal, permission: Permission) -> None:
    if not has_permission(principal, permission):
        raise ForbiddenError(f"role {principal.role!r} may not {permission.value.replace('_', ' ')}")


def check_can_grant(principal: Principal, role: str) -> None:
    """A caller may grant only roles at or below its own (and only owners make owners)."""
    if role not in ROLE_RANK:
        raise ValidationFailedError(f"unknown role {role!r}; roles: {', '.join(ROLE_RANK)}")
    if ROLE_RANK[Role(role)] > ROLE_RANK.get(principal.role, 0):
        raise ForbiddenError(f"role {principal.role!r} may not grant {role!r}")
