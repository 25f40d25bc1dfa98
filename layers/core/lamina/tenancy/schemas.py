"""Request bodies of the tenancy routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from lamina.api.schemas import Body
from lamina.tenancy.roles import Role

Name = Annotated[str, Field(min_length=1, max_length=200)]
Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)]


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
