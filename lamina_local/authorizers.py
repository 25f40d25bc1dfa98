"""HTTP API authorizers run by the local gateway: JWT (Cognito) and Lambda REQUEST (payload format 2.0).

Each authorizer either returns the value of `requestContext.authorizer` for the integration event or raises
`AuthorizationDenied` carrying the HTTP status and body API Gateway would answer with.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt

from lamina_local.events import HttpRequestInfo, execute_api_route_arn, http_api_v2_authorizer_event
from lamina_local.invoker import TIMEOUT_ERROR_TYPE, Invoker
from lamina_local.model import AuthorizerSpec

logger = logging.getLogger(__name__)

# API Gateway only accepts asymmetric signatures; HS* would let anyone holding the (public) key forge tokens.
ALLOWED_JWT_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
)
JWKS_FETCH_TIMEOUT_S = 5.0
# An unknown `kid` triggers a JWKS refetch, but not more often than this: garbage tokens must not hammer it.
JWKS_MIN_REFETCH_INTERVAL_S = 5.0
LAMBDA_AUTHORIZER_TIMEOUT_S = 10.0
# API Gateway answers 500 to any failed or timed-out Lambda authorizer. Here an authorizer that timed out, or
# that reported a dependency's outage (the `lamina.auth.authorizer` raises UnavailableError then), answers 503
# with Retry-After, as the app does for the same outage: a client can retry it, and a fault test can tell an
# outage from a bug. Any other failure stays a 500.
RETRYABLE_AUTHORIZER_ERRORS = frozenset({TIMEOUT_ERROR_TYPE, "UnavailableError"})
AUTHORIZER_RETRY_AFTER_S = 2
DEFAULT_IDENTITY_SOURCE = "$request.header.Authorization"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

JwksUrlRewriter = Callable[[str], str]


class AuthorizationDenied(Exception):
    """The request stops at the authorizer; `status` and `message` are what API Gateway answers."""

    def __init__(self, status: int, message: str, reason: str = "", retry_after_s: int | None = None) -> None:
        super().__init__(reason or message)
        self.status = status
        self.message = message
        self.reason = reason
        self.retry_after_s = retry_after_s


def unavailable(reason: str) -> AuthorizationDenied:
    return AuthorizationDenied(503, "Service Unavailable", reason, retry_after_s=AUTHORIZER_RETRY_AFTER_S)


def unauthorized(reason: str) -> AuthorizationDenied:
    return AuthorizationDenied(401, "Unauthorized", reason)


@dataclass
class AuthorizationRequest:
    """What an authorizer needs to know about the request and the matched route."""

    request: HttpRequestInfo
    route_key: str
    request_context: dict[str, Any]
    region: str
    account_id: str
    api_id: str


def identity_values(sources: Sequence[str], request: HttpRequestInfo) -> list[str] | None:
    """The values of the identity sources, or None when one is missing (API Gateway then answers 401)."""
    values: list[str] = []
    for source in sources:
        value: str | None = None
        if source.startswith("$request.header."):
            value = request.headers.get(source.removeprefix("$request.header.").lower())
        elif source.startswith("$request.querystring."):
            value = request.query_string_parameters.get(source.removeprefix("$request.querystring."))
        elif source.startswith("$stageVariables."):
            value = request.stage_variables.get(source.removeprefix("$stageVariables."))
        elif source.startswith("$context."):
            value = "$default" if source == "$context.stage" else None
        if not value:
            return None
        values.append(value)
    return values


def cognito_jwks_rewriter(endpoint_url: str) -> JwksUrlRewriter:
    """Maps a real Cognito issuer to the JWKS served by a local emulator (moto serves `/<pool>/.well-known/`)."""
    endpoint = endpoint_url.rstrip("/")

    def rewrite(issuer: str) -> str:
        match = re.fullmatch(r"https://cognito-idp\.[a-z0-9-]+\.amazonaws\.com/([^/]+)/?", issuer)
        if match is None:
            return f"{issuer.rstrip('/')}/.well-known/jwks.json"
        return f"{endpoint}/{match.group(1)}/.well-known/jwks.json"

    return rewrite


def claim_as_string(value: Any) -> str:
    """API Gateway hands JWT claims to the integration as strings; lists become "[a b]"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(claim_as_string(item) for item in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


@dataclass
class _JwksEntry:
    keys: dict[str, Any]
    fetched_at: float


class JwksCache:
    """Signing keys per JWKS URL, fetched once and refetched when a token names an unknown `kid`."""

    def __init__(self, http: httpx.AsyncClient | None = None, *, allow_remote: bool = False) -> None:
        self._http = http
        self._allow_remote = allow_remote
        self._entries: dict[str, _JwksEntry] = {}
        self._lock = asyncio.Lock()
        self.fetch_count = 0

    async def signing_key(self, url: str, kid: str) -> Any:
        entry = self._entries.get(url)
        if entry is not None and kid in entry.keys:
            return entry.keys[kid]
        async with self._lock:
            entry = self._entries.get(url)
            recently = entry is not None and time.monotonic() - entry.fetched_at < JWKS_MIN_REFETCH_INTERVAL_S
            if entry is None or (kid not in entry.keys and not recently):
                entry = await self._fetch(url)
                self._entries[url] = entry
        if kid not in entry.keys:
            raise unauthorized(f"unknown kid {kid!r}")
        return entry.keys[kid]

    async def _fetch(self, url: str) -> _JwksEntry:
        host = urlsplit(url).hostname or ""
        if not self._allow_remote and host not in LOOPBACK_HOSTS:
            # The local runtime must never reach the internet: map the issuer to the emulator instead.
            raise AuthorizationDenied(500, "Internal Server Error", f"refusing to fetch remote JWKS {url}")
        self.fetch_count += 1
        try:
            if self._http is None:
                self._http = httpx.AsyncClient(timeout=JWKS_FETCH_TIMEOUT_S)
            response = await self._http.get(url, timeout=JWKS_FETCH_TIMEOUT_S)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise AuthorizationDenied(500, "Internal Server Error", f"JWKS fetch failed: {exc}") from exc
        keys: dict[str, Any] = {}
        for jwk in document.get("keys", []):
            try:
                keys[jwk["kid"]] = jwt.PyJWK(jwk).key
            except (KeyError, jwt.PyJWKError):
                continue  # a key we cannot use cannot have signed an acceptable token
        return _JwksEntry(keys=keys, fetched_at=time.monotonic())

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()


class JwtAuthorizer:
    """API Gateway's JWT authorizer: signature (JWKS), `iss`, `exp`/`nbf`, and audience or `client_id`."""

    def __init__(
        self,
        spec: AuthorizerSpec,
        jwks: JwksCache,
        *,
        jwks_url_rewriter: JwksUrlRewriter | None = None,
    ) -> None:
        if not spec.issuer:
            raise ValueError(f"JWT authorizer {spec.name} has no issuer")
        self.spec = spec
        self._issuer: str = spec.issuer
        self._jwks = jwks
        rewrite = jwks_url_rewriter or (lambda issuer: f"{issuer.rstrip('/')}/.well-known/jwks.json")
        self._jwks_url = rewrite(self._issuer)

    async def authorize(self, auth: AuthorizationRequest) -> dict[str, Any]:
        sources = self.spec.identity_sources or (DEFAULT_IDENTITY_SOURCE,)
        values = identity_values(sources[:1], auth.request)
        if values is None:
            raise unauthorized("missing token")
        token = values[0].strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        claims = await self._verified_claims(token)
        scope = claims.get("scope")
        return {
            "jwt": {
                "claims": {name: claim_as_string(value) for name, value in claims.items()},
                "scopes": scope.split() if isinstance(scope, str) and scope else None,
            }
        }

    async def _verified_claims(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise unauthorized(f"malformed token: {exc}") from exc
        algorithm = header.get("alg")
        if algorithm not in ALLOWED_JWT_ALGORITHMS:
            raise unauthorized(f"algorithm {algorithm!r} not accepted")
        key = await self._jwks.signing_key(self._jwks_url, str(header.get("kid", "")))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                issuer=self._issuer,
                options={"require": ["exp", "iss"], "verify_aud": False},
            )
        except jwt.PyJWTError as exc:
            raise unauthorized(f"invalid token: {exc}") from exc
        self._check_audience(claims)
        return claims

    def _check_audience(self, claims: dict[str, Any]) -> None:
        audiences = set(self.spec.audiences)
        if not audiences:
            return
        # Cognito access tokens carry the app client in `client_id`, ID tokens in `aud`.
        if claims.get("token_use") == "access" or "aud" not in claims:
            presented = {claims.get("client_id")}
        else:
            aud = claims["aud"]
            presented = set(aud) if isinstance(aud, list) else {aud}
        if not presented & audiences:
            raise unauthorized("audience not allowed")


@dataclass
class _CachedDecision:
    response: dict[str, Any]
    expires_at: float


@dataclass
class LambdaAuthorizer:
    """A Lambda REQUEST authorizer, payload format 2.0, simple or IAM-policy responses, with result cache."""

    spec: AuthorizerSpec
    invoker: Invoker
    clock: Callable[[], float] = time.monotonic
    timeout_s: float = LAMBDA_AUTHORIZER_TIMEOUT_S
    invocations: int = 0
    _cache: dict[tuple[str, ...], _CachedDecision] = field(default_factory=dict)

    async def authorize(self, auth: AuthorizationRequest) -> dict[str, Any]:
        if self.spec.function is None:
            raise ValueError(f"Lambda authorizer {self.spec.name} has no function")
        values: list[str] = []
        if self.spec.identity_sources:
            found = identity_values(self.spec.identity_sources, auth.request)
            if found is None:
                raise unauthorized("missing identity source")
            values = found
        route_arn = execute_api_route_arn(
            auth.region, auth.account_id, auth.api_id, auth.request.method, auth.request.raw_path
        )
        # API Gateway caches only when identity sources are set: they are the cache key.
        cache_key = tuple(values) if self.spec.result_ttl_s > 0 and values else None
        response = self._cached(cache_key)
        if response is None:
            response = await self._invoke(auth, route_arn, values)
            if cache_key is not None:
                self._cache[cache_key] = _CachedDecision(response, self.clock() + self.spec.result_ttl_s)
        if not self._is_authorized(response, route_arn):
            raise AuthorizationDenied(403, "Forbidden", "authorizer denied")
        context = response.get("context")
        return {"lambda": context if isinstance(context, dict) else {}}

    def _cached(self, cache_key: tuple[str, ...] | None) -> dict[str, Any] | None:
        if cache_key is None:
            return None
        decision = self._cache.get(cache_key)
        if decision is None or decision.expires_at <= self.clock():
            self._cache.pop(cache_key, None)
            return None
        return decision.response

    async def _invoke(self, auth: AuthorizationRequest, route_arn: str, values: list[str]) -> dict[str, Any]:
        assert self.spec.function is not None
        event = http_api_v2_authorizer_event(
            auth.request,
            route_key=auth.route_key,
            route_arn=route_arn,
            identity_source=values,
            request_context=auth.request_context,
        )
        self.invocations += 1
        try:
            result = await asyncio.wait_for(self.invoker.invoke(self.spec.function, event), self.timeout_s)
        except TimeoutError as exc:
            # API Gateway's own limit: logged here; the function's log says when its sandbox is killed
            # ("Task timed out after N seconds", as Lambda writes it).
            logger.warning(
                "authorizer %s: Task timed out after %.2f seconds (API Gateway's authorizer limit): 503",
                self.spec.function,
                self.timeout_s,
            )
            raise unavailable("authorizer timed out") from exc
        if not result.ok:
            if result.error_type in RETRYABLE_AUTHORIZER_ERRORS:
                logger.warning(
                    "authorizer %s failed with %s: 503 (%s)",
                    self.spec.function,
                    result.error_type,
                    _error_message(result.payload),
                )
                raise unavailable(f"authorizer failed: {result.error_type}")
            raise AuthorizationDenied(500, "Internal Server Error", f"authorizer failed: {result.error_type}")
        try:
            response = json.loads(result.payload)
        except ValueError as exc:
            raise AuthorizationDenied(
                500, "Internal Server Error", "authorizer returned invalid JSON"
            ) from exc
        if not isinstance(response, dict):
            raise AuthorizationDenied(500, "Internal Server Error", "authorizer response is not an object")
        return response

    def _is_authorized(self, response: dict[str, Any], route_arn: str) -> bool:
        if self.spec.simple_responses:
            decision = response.get("isAuthorized")
            if not isinstance(decision, bool):
                raise AuthorizationDenied(
                    500, "Internal Server Error", "isAuthorized missing or not a boolean"
                )
            return decision
        return iam_policy_allows(response.get("policyDocument"), route_arn)


def _error_message(payload: bytes) -> str:
    """The errorMessage of Lambda's error document, for the log line."""
    try:
        document = json.loads(payload)
    except ValueError:
        return ""
    return str(document.get("errorMessage", "")) if isinstance(document, dict) else ""


def _arn_matches(pattern: str, arn: str) -> bool:
    regex = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.fullmatch(regex, arn) is not None


def iam_policy_allows(policy: Any, route_arn: str) -> bool:
    """An explicit Deny wins, otherwise an Allow of execute-api:Invoke on a matching resource is needed."""
    if not isinstance(policy, dict):
        return False
    statements = policy.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else statements
    allowed = False
    for statement in statements:
        if not isinstance(statement, dict):
            continue
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        if not any(_arn_matches(action, "execute-api:Invoke") for action in actions):
            continue
        if not any(_arn_matches(resource, route_arn) for resource in resources):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


Authorizer = JwtAuthorizer | LambdaAuthorizer


def build_authorizers(
    specs: dict[str, AuthorizerSpec],
    invoker: Invoker,
    *,
    jwks: JwksCache,
    jwks_url_rewriter: JwksUrlRewriter | None = None,
) -> dict[str, Authorizer]:
    built: dict[str, Authorizer] = {}
    for name, spec in specs.items():
        if spec.kind == "jwt":
            built[name] = JwtAuthorizer(spec, jwks, jwks_url_rewriter=jwks_url_rewriter)
        elif spec.kind == "lambda":
            built[name] = LambdaAuthorizer(spec, invoker)
        else:
            raise ValueError(f"authorizer {name}: unknown kind {spec.kind!r}")
    return built
