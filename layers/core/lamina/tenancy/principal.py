"""Who is acting, in which project, with which role: what auth makes of a credential and every domain checks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum


class PrincipalKind(StrEnum):
    USER = "user"
    API_KEY = "api_key"
    SERVICE = "service"


@dataclass(frozen=True)
class Principal:
    kind: PrincipalKind
    project_id: uuid.UUID
    workspace_id: uuid.UUID
    organization_id: uuid.UUID
    role: str
    # The acting user: the signed-in user, or the user who created the API key (None for service tokens).
    user_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None
    # For service tokens: which function or component is calling.
    service: str | None = None

    @property
    def actor(self) -> str:
        """A short audit label: `user:<id>`, `api_key:<id>` or `service:<name>`."""
        if self.kind is PrincipalKind.USER:
            return f"user:{self.user_id}"
        if self.kind is PrincipalKind.API_KEY:
            return f"api_key:{self.api_key_id}"
        return f"service:{self.service}"
