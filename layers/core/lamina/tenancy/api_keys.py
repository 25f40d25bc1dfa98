"""Managing a project's API keys: create (at most as powerful as the caller), list, revoke at once."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lamina.db.base import utcnow
from lamina.db.unit_of_work import after_commit
from lamina.errors import NotFoundError, ValidationFailedError
from lamina.tenancy.api_key_store import GeneratedKey, forget_cached_key, generate_key
from lamina.tenancy.models import ApiKey
from lamina.tenancy.principal import Principal
from lamina.tenancy.roles import Role, check_can_grant


def create_api_key(
    session: Session,
    principal: Principal,
    *,
    name: str | None,
    role: str | None = None,
    expires_at: datetime | None = None,
    generated: GeneratedKey | None = None,
) -> tuple[ApiKey, str]:
    """A new key in the caller's project, at most as powerful as the caller; returns it and its plaintext."""
    role = role or Role.EDITOR.value
    check_can_grant(principal, role)
    if expires_at is not None and expires_at <= utcnow():
        raise ValidationFailedError("expires_at must be in the future")
    generated = generated or generate_key()
    key = ApiKey(
        project_id=principal.project_id,
        user_id=principal.user_id,
        prefix=generated.prefix,
        secret_hash=generated.secret_hash,
        name=name,
        role=role,
        expires_at=expires_at,
    )
    session.add(key)
    session.flush()
    return key, generated.plaintext


def list_api_keys(session: Session, principal: Principal) -> list[ApiKey]:
    return list(
        session.execute(
            select(ApiKey)
            .where(ApiKey.project_id == principal.project_id, ApiKey.revoked_at.is_(None))
            .order_by(ApiKey.created_at)
        ).scalars()
    )


def revoke_api_key(session: Session, principal: Principal, key_id: uuid.UUID) -> ApiKey:
    """Revoke now: the row is marked and its cached lookup dropped, so the very next request is refused."""
    key = session.execute(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.project_id == principal.project_id)
    ).scalar_one_or_none()
    if key is None or key.revoked_at is not None:
        raise NotFoundError(f"API key {key_id} not found")
    check_can_grant(principal, key.role)
    key.revoked_at = utcnow()
    session.flush()
    # Dropped before the commit too: a lookup racing the commit re-reads the row after it (below).
    forget_cached_key(key.prefix)
    prefix = key.prefix
    after_commit(session, lambda: forget_cached_key(prefix))
    return key
