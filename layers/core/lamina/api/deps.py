"""FastAPI dependencies: the database session, the calling principal, and permission checks.

Used as annotated aliases: `session: SessionDep`, `principal: CurrentPrincipal`, or a permission-checked
principal (`ProjectViewer`, `ProjectEditor`, ... below). This is the API layer: it asks `lamina.auth` who is
calling and `lamina.tenancy` what their role allows.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request

from lamina.errors import ValidationFailedError
from lamina.tenancy.principal import Principal
from lamina.tenancy.roles import Permission, check_permission

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from lamina.auth import service as auth
    from lamina.db import unit_of_work as uow
else:
    from lamina.lazy import lazy_module

    # Loaded by the first request, not at import: they pull in SQLAlchemy, a cold-start cost.
    auth = lazy_module("lamina.auth.service")
    uow = lazy_module("lamina.db.unit_of_work")

PROJECT_HEADER = "X-Project-Id"


def get_session() -> Iterator[Any]:
    """One session per request, committed when the route returns (before the response is sent), then its
    after-commit side effects (events, cache invalidations) run."""
    with uow.unit_of_work() as session:
        yield session


if TYPE_CHECKING:
    SessionDep = Annotated[Session, Depends(get_session, scope="function")]
else:
    # FastAPI evaluates these annotations at import: SQLAlchemy stays unimported until a request needs it.
    SessionDep = Annotated[Any, Depends(get_session, scope="function")]


def _requested_project(query_value: str | None, header_value: str | None) -> uuid.UUID | None:
    raw = query_value or header_value
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError as error:
        raise ValidationFailedError(f"project_id {raw!r} is not a UUID") from error


def current_principal(request: Request, session: SessionDep) -> Principal:
    """Who is calling and in which project (`?project_id=` or `X-Project-Id`, else the credential's own or
    the user's default project); 401 without a valid credential.

    The project selectors are read from the request rather than declared as parameters: declared, FastAPI
    would build their validators again for every route at import time, a cost paid on every cold start.
    """
    credential = auth.authenticate(request.headers.get("authorization"), session)
    requested = _requested_project(
        request.query_params.get("project_id"), request.headers.get(PROJECT_HEADER)
    )
    principal = auth.resolve_principal(session, credential, requested)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(permission: Permission) -> Callable[[Principal], Principal]:
    """A dependency: the current principal, once it is known to hold `permission`."""

    def dependency(principal: CurrentPrincipal) -> Principal:
        check_permission(principal, permission)
        return principal

    dependency.__name__ = f"require_{permission.value}"
    return dependency


ProjectViewer = Annotated[Principal, Depends(require(Permission.VIEW))]
ProjectEditor = Annotated[Principal, Depends(require(Permission.EDIT))]
ProjectDeployer = Annotated[Principal, Depends(require(Permission.DEPLOY))]
SecretsManager = Annotated[Principal, Depends(require(Permission.MANAGE_SECRETS))]
KeysManager = Annotated[Principal, Depends(require(Permission.MANAGE_KEYS))]
MembersManager = Annotated[Principal, Depends(require(Permission.MANAGE_MEMBERS))]
ProjectsManager = Annotated[Principal, Depends(require(Permission.MANAGE_PROJECTS))]
# The scope every query is filtered by: the principal's project (named for what routes use it for).
ProjectScope = ProjectViewer
