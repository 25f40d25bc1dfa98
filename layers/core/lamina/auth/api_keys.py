"""Verifying a presented API key, `ApiKey <prefix>.<secret>`: the key's owner and storage are tenancy's
(`lamina.tenancy.api_key_store`); this only decides whether the presented secret opens it. Comparison is
constant-time."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from lamina.errors import UnauthenticatedError
from lamina.tenancy.api_key_store import find_stored_key, hash_secret, note_key_use

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

SCHEME = "ApiKey"
MAX_PRESENTED_LENGTH = 200


@dataclass(frozen=True)
class VerifiedKey:
    """An API key that passed every check, as the principal resolver needs it."""

    id: uuid.UUID
    project_id: uuid.UUID
    workspace_id: uuid.UUID
    organization_id: uuid.UUID
    user_id: uuid.UUID | None
    role: str


def split_key(presented: str) -> tuple[str, str]:
    """`prefix.secret` → its two parts; UnauthenticatedError when it is not shaped like a key."""
    if len(presented) > MAX_PRESENTED_LENGTH or "." not in presented:
        raise UnauthenticatedError("malformed API key: expected <prefix>.<secret>")
    prefix, secret = presented.split(".", 1)
    if not prefix or not secret:
        raise UnauthenticatedError("malformed API key: expected <prefix>.<secret>")
    return prefix, secret


def verify_api_key(presented: str, session: Session | None = None) -> VerifiedKey:
    """Check `prefix.secret`: known, hash matches, not revoked, not expired."""
    prefix, secret = split_key(presented)
    stored = find_stored_key(prefix, session)
    if stored is None:
        raise UnauthenticatedError("invalid API key")
    if not hmac.compare_digest(hash_secret(secret), stored.secret_hash):
        raise UnauthenticatedError("invalid API key")
    if stored.revoked:
        raise UnauthenticatedError("API key revoked")
    expiry = stored.expiry
    if expiry is not None and expiry <= datetime.now(UTC):
        raise UnauthenticatedError("API key expired")
    note_key_use(prefix, uuid.UUID(stored.id))
    return VerifiedKey(
        id=uuid.UUID(stored.id),
        project_id=uuid.UUID(stored.project_id),
        workspace_id=uuid.UUID(stored.workspace_id),
        organization_id=uuid.UUID(stored.organization_id),
        user_id=uuid.UUID(stored.user_id) if stored.user_id else None,
        role=stored.role,
    )
