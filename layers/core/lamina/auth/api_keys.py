"""API keys: `ApiKey <prefix>.<secret>`.

The prefix is public (listed, indexed, used to find the row); the secret is 256 random bits stored only as
its SHA-256. A slow password hash (bcrypt, scrypt) exists to make guessing low-entropy human passwords
expensive; a 256-bit random secret cannot be guessed at any speed, so a fast hash is as safe and keeps the
check cheap on every request. Comparison is constant-time.

Lookups are cached in Redis for a short time; revoking a key deletes its cache entry, so a revoked key
stops working on the next request, in every container.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lamina.errors import UnauthenticatedError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

SCHEME = "ApiKey"
PREFIX_MARKER = "lk_"
PREFIX_RANDOM_BYTES = 6  # 12 hex characters: unique enough to index, short enough to show
SECRET_BYTES = 32  # 256 bits
MAX_PRESENTED_LENGTH = 200
LOOKUP_CACHE_TTL_S = 300
# `last_used_at` is precise to this much: finer would write to the database on every request.
LAST_USED_RESOLUTION_S = 300


@dataclass(frozen=True)
class GeneratedKey:
    prefix: str
    secret: str
    secret_hash: str

    @property
    def plaintext(self) -> str:
        """What the caller puts after `ApiKey `; shown once, never stored."""
        return f"{self.prefix}.{self.secret}"


@dataclass(frozen=True)
class VerifiedKey:
    """An API key that passed every check, as the principal resolver needs it."""

    id: uuid.UUID
    project_id: uuid.UUID
    workspace_id: uuid.UUID
    organization_id: uuid.UUID
    user_id: uuid.UUID | None
    role: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_key(*, prefix: str | None = None, secret: str | None = None) -> GeneratedKey:
    """A new random key (both parts may be given, for the deterministic local seed key)."""
    prefix = prefix or PREFIX_MARKER + secrets.token_hex(PREFIX_RANDOM_BYTES)
    secret = secret or secrets.token_urlsafe(SECRET_BYTES)
    return GeneratedKey(prefix=prefix, secret=secret, secret_hash=hash_secret(secret))


def split_key(presented: str) -> tuple[str, str]:
    """`prefix.secret` → its two parts; UnauthenticatedError when it is not shaped like a key."""
    if len(presented) > MAX_PRESENTED_LENGTH or "." not in presented:
        raise UnauthenticatedError("malformed API key: expected <prefix>.<secret>")
    prefix, secret = presented.split(".", 1)
    if not prefix or not secret:
        raise UnauthenticatedError("malformed API key: expected <prefix>.<secret>")
    return prefix, secret


def _cache_key(prefix: str) -> str:
    return f"lamina:apikey:{prefix}"


def _cached_record(prefix: str) -> dict[str, Any] | None:
    try:
        from lamina.cache import get_redis

        raw = get_redis().get(_cache_key(prefix))
    except Exception:  # the cache is an optimisation: fall back to the database
        logger.warning("API key cache unavailable", exc_info=True)
        return None
    if raw is None:
        return None
    try:
        record: dict[str, Any] = json.loads(raw)
    except ValueError:
        return None
    return record


def _store_record(prefix: str, record: dict[str, Any]) -> None:
    try:
        from lamina.cache import get_redis

        get_redis().set(_cache_key(prefix), json.dumps(record), ex=LOOKUP_CACHE_TTL_S)
    except Exception:
        logger.warning("API key cache unavailable", exc_info=True)


def _note_use(prefix: str, key_id: uuid.UUID) -> None:
    """Record `last_used_at`, at most once per LAST_USED_RESOLUTION_S per key: one Redis SET on the hot path."""
    try:
        from lamina.cache import get_redis

        if not get_redis().set(f"lamina:apikey-used:{prefix}", b"1", nx=True, ex=LAST_USED_RESOLUTION_S):
            return
        from sqlalchemy import update

        from lamina.db.base import utcnow
        from lamina.db.unit_of_work import unit_of_work
        from lamina.tenancy.models import ApiKey

        with unit_of_work() as session:
            session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=utcnow()))
    except Exception:  # bookkeeping only: never fail a request over it
        logger.warning("could not record API key use", exc_info=True)


def forget_cached_key(prefix: str) -> None:
    """Drop a key's cached lookup (on revoke or change); raises if Redis is down so revocation is not silent."""
    from lamina.cache import get_redis

    get_redis().delete(_cache_key(prefix))


def _load_record(session: Session, prefix: str) -> dict[str, Any] | None:
    from sqlalchemy import select

    from lamina.tenancy.models import ApiKey, Project

    row = session.execute(
        select(ApiKey, Project).join(Project, Project.id == ApiKey.project_id).where(ApiKey.prefix == prefix)
    ).first()
    if row is None:
        return None
    key, project = row
    return {
        "id": str(key.id),
        "project_id": str(key.project_id),
        "workspace_id": str(project.workspace_id),
        "organization_id": str(project.organization_id),
        "user_id": str(key.user_id) if key.user_id else None,
        "role": key.role,
        "secret_hash": key.secret_hash,
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
        "revoked": key.revoked_at is not None,
    }


def verify_api_key(presented: str, session: Session | None = None) -> VerifiedKey:
    """Check `prefix.secret`: known, hash matches, not revoked, not expired."""
    from lamina.db.base import utcnow

    prefix, secret = split_key(presented)
    record = _cached_record(prefix)
    if record is None:
        if session is None:
            from lamina.db.unit_of_work import unit_of_work

            with unit_of_work() as own_session:
                record = _load_record(own_session, prefix)
        else:
            record = _load_record(session, prefix)
        if record is None:
            # Unknown prefixes are not cached: they cost a query, but cannot fill Redis with garbage.
            raise UnauthenticatedError("invalid API key")
        _store_record(prefix, record)
    if not hmac.compare_digest(hash_secret(secret), str(record["secret_hash"])):
        raise UnauthenticatedError("invalid API key")
    if record.get("revoked"):
        raise UnauthenticatedError("API key revoked")
    expires_at = record.get("expires_at")
    if expires_at and datetime.fromisoformat(expires_at) <= utcnow():
        raise UnauthenticatedError("API key expired")
    _note_use(prefix, uuid.UUID(record["id"]))
    return VerifiedKey(
        id=uuid.UUID(record["id"]),
        project_id=uuid.UUID(record["project_id"]),
        workspace_id=uuid.UUID(record["workspace_id"]),
        organization_id=uuid.UUID(record["organization_id"]),
        user_id=uuid.UUID(record["user_id"]) if record.get("user_id") else None,
        role=str(record["role"]),
    )
