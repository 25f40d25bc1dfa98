"""Cognito JWT verification, in the app itself: the API stays safe behind a misconfigured gateway.

Only RS256 is accepted, with keys from the user pool's JWKS (never a key named by the token). The JWKS is
cached in-process with a TTL and refetched when a token names an unknown `kid` (Cognito key rotation), but
not more often than JWKS_MIN_REFETCH_INTERVAL_S, so garbage tokens cannot turn into a fetch storm.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from lamina.errors import UnauthenticatedError, UnavailableError
from lamina.settings import Settings, get_settings

ACCEPTED_ALGORITHM = "RS256"
JWKS_TTL_S = 3600.0
JWKS_MIN_REFETCH_INTERVAL_S = 5.0
JWKS_FETCH_TIMEOUT_S = 5.0
# Clock skew tolerated on exp/nbf/iat between Cognito and this container.
CLOCK_LEEWAY_S = 30
TOKEN_USES = frozenset({"access", "id"})


@dataclass(frozen=True)
class CognitoClaims:
    """What Lamina uses of a verified Cognito token."""

    sub: str
    token_use: str
    email: str | None
    username: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)


class JwksCache:
    """The signing keys of one JWKS URL, shared by every request of the process (a Lambda container)."""

    def __init__(self, url: str, *, ttl_s: float = JWKS_TTL_S) -> None:
        self.url = url
        self._ttl_s = ttl_s
        self._keys: dict[str, Any] = {}
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()
        self.fetch_count = 0

    def signing_key(self, kid: str) -> Any:
        now = time.monotonic()
        if kid in self._keys and now - self._fetched_at < self._ttl_s:
            return self._keys[kid]
        with self._lock:
            age = time.monotonic() - self._fetched_at
            stale = age >= self._ttl_s
            unknown_and_may_refetch = kid not in self._keys and age >= JWKS_MIN_REFETCH_INTERVAL_S
            if stale or unknown_and_may_refetch:
                self._keys = self._fetch()
                self._fetched_at = time.monotonic()
        key = self._keys.get(kid)
        if key is None:
            raise UnauthenticatedError("token signed by an unknown key")
        return key

    def _fetch(self) -> dict[str, Any]:
        import httpx
        import jwt

        self.fetch_count += 1
        try:
            response = httpx.get(self.url, timeout=JWKS_FETCH_TIMEOUT_S)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as error:
            if self._keys:  # keep verifying with the keys we have rather than failing every request
                return self._keys
            raise UnavailableError(
                f"could not fetch the identity provider's signing keys: {error}"
            ) from error
        keys: dict[str, Any] = {}
        for jwk in document.get("keys", []):
            # Only RSA signing keys can have signed an acceptable token.
            if jwk.get("kty") != "RSA" or jwk.get("use", "sig") != "sig" or "kid" not in jwk:
                continue
            try:
                keys[jwk["kid"]] = jwt.PyJWK(jwk, algorithm=ACCEPTED_ALGORITHM).key
            except jwt.PyJWTError:
                continue
        return keys


def jwks_cache(url: str) -> JwksCache:
    """The process's signing-key cache for one JWKS URL (kept by `lamina.state`)."""
    from lamina.state import current

    return current().memo(f"jwks:{url}", lambda: JwksCache(url))


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


def verify_cognito_token(token: str, settings: Settings | None = None) -> CognitoClaims:
    """Verify a Cognito access or ID token; UnauthenticatedError says why it is refused."""
    import jwt

    settings = settings or get_settings()
    if not settings.cognito_user_pool_id or not settings.cognito_client_id:
        raise UnauthenticatedError("sign-in with Cognito is not configured on this deployment")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as error:
        raise UnauthenticatedError(f"malformed token: {error}") from error
    # Checked before any key is chosen: alg=none and HS256 signed with the public key never get that far.
    if header.get("alg") != ACCEPTED_ALGORITHM:
        raise UnauthenticatedError(f"token algorithm {header.get('alg')!r} is not accepted")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise UnauthenticatedError("token has no key id")
    key = jwks_cache(settings.cognito_jwks_endpoint).signing_key(kid)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ACCEPTED_ALGORITHM],
            issuer=settings.cognito_issuer,
            leeway=CLOCK_LEEWAY_S,
            # The audience rule differs by token_use (below), so PyJWT's own check is off.
            options={"require": ["exp", "iss", "sub", "token_use"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError as error:
        raise UnauthenticatedError("token expired") from error
    except jwt.PyJWTError as error:
        raise UnauthenticatedError(f"invalid token: {error}") from error
    token_use = claims.get("token_use")
    if token_use not in TOKEN_USES:
        raise UnauthenticatedError(f"token_use {token_use!r} is not accepted")
    # Cognito puts the app client in `client_id` on access tokens and in `aud` on ID tokens.
    client = claims.get("client_id") if token_use == "access" else claims.get("aud")
    if client != settings.cognito_client_id:
        raise UnauthenticatedError("token was issued to another client")
    email = claims.get("email")
    username = claims.get("username") or claims.get("cognito:username")
    return CognitoClaims(
        sub=str(claims["sub"]),
        token_use=str(token_use),
        email=str(email) if email else None,
        username=str(username) if username else None,
        raw=claims,
    )
