"""How API keys are made and stored, and the cached lookup of a stored key by its public prefix.

A key is `<prefix>.<secret>`. The prefix is public (listed, indexed, used to find the row); the secret is 256
random bits stored only as its SHA-256. A slow password hash (bcrypt, scrypt) exists to make guessing
low-entropy human passwords expensive; a 256-bit random secret cannot be guessed at any speed, so a fast hash
is as safe and keeps the check cheap on every request.

Lookups are cached in Redis for a short time; revoking a key deletes its cache entry, so a revoked key stops
working on the next request, in every container. The authorizer calls this on every request: SQLAlchemy is
imported only on a cache miss, so a warm cache never pays its import on a cold start.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from lamina.cache import get_redis
from lamina.outages import report_failure, report_success

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

PREFIX_MARKER = "lk_"
PREFIX_RANDOM_BYTES = 6  # 12 hex characters: unique enough to index, short enough to show
SECRET_BYTES = 32  # 256 bits
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
class StoredKey:
    """What a key's row (and its project) say about it: enough to check a presented secret."""

    id: str
    project_id: str
    workspace_id: str
    organization_id: str
    user_id: str | None
    role: str
    secret_hash: str
    expires_at: str | None
    revoked: bool

    @property
    def expiry(self) -> datetime | None:
        return datetime.fromisoformat(self.expires_at) if self.expires_at else None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_key(*, prefix: str | None = None, secret: str | None = None) -> GeneratedKey:
    """A new random key (both parts may be given, for the deterministic local seed key)."""
    prefix = prefix or PREFIX_MARKER + secrets.token_hex(PREFIX_RANDOM_BYTES)
    secret = secret or secrets.token_urlsafe(SECRET_BYTES)
    return GeneratedKey(prefix=prefix, secret=secret, secret_hash=hash_secret(secret))


def _cache_key(prefix: str) -> str:
    return f"lamina:apikey:{prefix}"


def _cached(prefix: str) -> StoredKey | None:
    try:
        raw = get_redis().get(_cache_key(prefix))
    except Exception as error:  # the cache is an optimisation: fall back to the database
        report_failure("redis", error)
        return None
    report_success("redis")
    if raw is None:
        return None
    try:
        return StoredKey(**json.loads(raw))
    except (ValueError, TypeError):  # an entry from another version of this shape: read the row again
        return None


def _cache(stored: StoredKey, prefix: str) -> None:
    try:
        get_redis().set(_cache_key(prefix), json.dumps(asdict(stored)), ex=LOOKUP_CACHE_TTL_S)
    except Exception as error:
        report_failure("redis", error)


def forget_cached_key(prefix: str) -> None:
    """Drop a key's cached lookup (on revoke or change); raises if Redis is down so revocation is not silent."""
    get_redis().delete(_cache_key(prefix))


def _load(session: Session, prefix: str) -> StoredKey | None:
    from sqlalchemy import select

    from lamina.tenancy.models import ApiKey, Project

    row = session.execute(
        select(ApiKey, Project).join(Project, Project.id == ApiKey.project_id).where(ApiKey.prefix == prefix)
    ).first()
    if row is None:
        return None
    key, project = row
    return StoredKey(
        id=str(key.id),
        project_id=str(key.project_id),
        workspace_id=str(project.workspace_id),
        organization_id=str(project.organization_id),
        user_id=str(key.user_id) if key.user_id else None,
        role=key.role,
        secret_hash=key.secret_hash,
        expires_at=key.expires_at.isoformat() if key.expires_at else None,
        revoked=key.revoked_at is not None,
    )


def find_stored_key(prefix: str, session: Session | None = None) -> StoredKey | None:
    """The key stored under `prefix` (from the cache, else the database), or None."""
    stored = _cached(prefix)
    if stored is not None:
        return stored
    if session is None:
        from lamina.db.unit_of_work import unit_of_work

        with unit_of_work() as own_session:
            stored = _load(own_session, prefix)
    else:
        stored = _load(session, prefix)
    # Unknown prefixes are not cached: they cost a query, but cannot fill Redis with garbage.
    if stored is not None:
        _cache(stored, prefix)
    return stored


def note_key_use(prefix: str, key_id: uuid.UUID) -> None:
    """Record `last_used_at`, at most once per LAST_USED_RESOLUTION_S per key: one Redis SET on the hot path."""
    try:
        if not get_redis().set(f"lamina:apikey-used:{prefix}", b"1", nx=True, ex=LAST_USED_RESOLUTION_S):
            return
        from sqlalchemy import update

        from lamina.db.base import utcnow
        from lamina.db.unit_of_work import unit_of_work
        from lamina.tenancy.models import ApiKey

        with unit_of_work() as session:
            session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=utcnow()))
    except Exception as error:  # bookkeeping only: never fail a request over it
        report_failure("api key bookkeeping (redis or postgres)", error)
