"""Short-lived internal service tokens: function-to-function calls and runner call-backs.

HS256 with settings.secret_key, audience "lamina-internal", always bound to one project and a role. They are
told apart from Cognito tokens by their issuer, and each kind is verified only with its own algorithm and key,
so a Cognito-looking token can never be checked against the shared secret or the reverse.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from lamina.errors import UnauthenticatedError
from lamina.settings import Settings, get_settings

SERVICE_TOKEN_ISSUER = "lamina"
SERVICE_TOKEN_AUDIENCE = "lamina-internal"
SERVICE_TOKEN_ALGORITHM = "HS256"
DEFAULT_TTL_S = 300
MAX_TTL_S = 3600
CLOCK_LEEWAY_S = 5


@dataclass(frozen=True)
class ServiceClaims:
    subject: str
    project_id: uuid.UUID
    role: str
    token_id: str


def issue_service_token(
    *,
    project_id: uuid.UUID,
    subject: str,
    role: str = "editor",
    ttl_s: int = DEFAULT_TTL_S,
    settings: Settings | None = None,
) -> str:
    """A token that lets `subject` (e.g. "runner", "evaluations-worker") act in one project for ttl_s."""
    import time

    import jwt

    settings = settings or get_settings()
    ttl_s = max(1, min(ttl_s, MAX_TTL_S))
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": SERVICE_TOKEN_ISSUER,
        "aud": SERVICE_TOKEN_AUDIENCE,
        "sub": subject,
        "project_id": str(project_id),
        "role": role,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_s,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, settings.secret_key, algorithm=SERVICE_TOKEN_ALGORITHM)


def is_service_token(token: str) -> bool:
    """Whether the (unverified) token claims to be ours; verification decides whether it is."""
    import jwt

    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return False
    return unverified.get("iss") == SERVICE_TOKEN_ISSUER


def verify_service_token(token: str, settings: Settings | None = None) -> ServiceClaims:
    import jwt

    settings = settings or get_settings()
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[SERVICE_TOKEN_ALGORITHM],
            audience=SERVICE_TOKEN_AUDIENCE,
            issuer=SERVICE_TOKEN_ISSUER,
            leeway=CLOCK_LEEWAY_S,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "project_id", "role"]},
        )
        project_id = uuid.UUID(str(claims["project_id"]))
    except jwt.ExpiredSignatureError as error:
        raise UnauthenticatedError("service token expired") from error
    except (jwt.PyJWTError, ValueError) as error:
        raise UnauthenticatedError(f"invalid service token: {error}") from error
    if claims["exp"] - claims["iat"] > MAX_TTL_S:
        raise UnauthenticatedError("service token lifetime too long")
    return ServiceClaims(
        subject=str(claims["sub"]),
        project_id=project_id,
        role=str(claims["role"]),
        token_id=claims.get("jti", ""),
    )
