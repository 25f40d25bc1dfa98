"""`/api/secrets/`: create, list, get, update, delete. Values go in; only masks come out."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter

from lamina.auth.deps import ProjectViewer, SecretsManager, SessionDep
from lamina.secrets import schemas

if TYPE_CHECKING:
    from lamina.secrets import service as vault
else:
    from lamina.lazy import lazy_module

    vault = lazy_module("lamina.secrets.service")

router = APIRouter(tags=["secrets"])


@router.post("/secrets/", response_model=None)
def create_secret(
    body: schemas.SecretCreate, session: SessionDep, principal: SecretsManager
) -> dict[str, Any]:
    return {"count": 1, "secret": vault.secret_view(vault.create_secret(session, principal, body.secret))}


@router.get("/secrets/", response_model=None)
def list_secrets(session: SessionDep, principal: ProjectViewer) -> dict[str, Any]:
    secrets = vault.list_secrets(session, principal)
    return {"count": len(secrets), "secrets": [vault.secret_view(secret) for secret in secrets]}


@router.get("/secrets/{secret_id}", response_model=None)
def get_secret(secret_id: uuid.UUID, session: SessionDep, principal: ProjectViewer) -> dict[str, Any]:
    return {"count": 1, "secret": vault.secret_view(vault.get_secret(session, principal, secret_id))}


@router.put("/secrets/{secret_id}", response_model=None)
def edit_secret(
    secret_id: uuid.UUID, body: schemas.SecretEdit, session: SessionDep, principal: SecretsManager
) -> dict[str, Any]:
    return {
        "count": 1,
        "secret": vault.secret_view(vault.edit_secret(session, principal, secret_id, body.secret)),
    }


@router.delete("/secrets/{secret_id}", response_model=None)
def delete_secret(secret_id: uuid.UUID, session: SessionDep, principal: SecretsManager) -> dict[str, Any]:
    vault.delete_secret(session, principal, secret_id)
    return {"count": 1, "secret": {"id": str(secret_id), "deleted": True}}
