"""`/api/secrets/`: create, list, get, update, delete. Values go in; only masks come out."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from lamina.api.deps import ProjectViewer, SecretsManager, SessionDep
from lamina.api.routing import DeferredRouter
from lamina.secrets import schemas

if TYPE_CHECKING:
    from lamina.secrets import service as vault
    from lamina.secrets.models import Secret
else:
    from lamina.lazy import lazy_module

    vault = lazy_module("lamina.secrets.service")

router = DeferredRouter(tags=["secrets"])


def _one(secret: Secret) -> schemas.SecretResponse:
    return schemas.SecretResponse(count=1, secret=schemas.SecretView.of(secret))


@router.post("/secrets/")
def create_secret(
    body: schemas.SecretCreate, session: SessionDep, principal: SecretsManager
) -> schemas.SecretResponse:
    return _one(vault.create_secret(session, principal, body.secret))


@router.get("/secrets/")
def list_secrets(session: SessionDep, principal: ProjectViewer) -> schemas.SecretsResponse:
    views = [schemas.SecretView.of(secret) for secret in vault.list_secrets(session, principal)]
    return schemas.SecretsResponse(count=len(views), secrets=views)


@router.get("/secrets/{secret_id}")
def get_secret(secret_id: uuid.UUID, session: SessionDep, principal: ProjectViewer) -> schemas.SecretResponse:
    return _one(vault.get_secret(session, principal, secret_id))


@router.put("/secrets/{secret_id}")
def edit_secret(
    secret_id: uuid.UUID, body: schemas.SecretEdit, session: SessionDep, principal: SecretsManager
) -> schemas.SecretResponse:
    return _one(vault.edit_secret(session, principal, secret_id, body.secret))


@router.delete("/secrets/{secret_id}")
def delete_secret(
    secret_id: uuid.UUID, session: SessionDep, principal: SecretsManager
) -> schemas.SecretDeletedResponse:
    vault.delete_secret(session, principal, secret_id)
    return schemas.SecretDeletedResponse(count=1, secret=schemas.DeletedSecret(id=secret_id, deleted=True))
