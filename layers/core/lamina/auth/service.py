"""From an `Authorization` header to a Principal: verify the credential, then resolve its project and role."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lamina.auth.api_keys import SCHEME as API_KEY_SCHEME
from lamina.auth.api_keys import VerifiedKey, verify_api_key
from lamina.auth.jwt import CognitoClaims, looks_like_jwt, verify_cognito_token
from lamina.auth.service_tokens import ServiceClaims, is_service_token, verify_service_token
from lamina.errors import ForbiddenError, UnauthenticatedError
from lamina.tenancy.principal import Principal, PrincipalKind

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from lamina.tenancy import service as tenancy
    from lamina.tenancy.models import User
else:
    from lamina.lazy import lazy_module

    # Loaded when a request needs a project or a user: the authorizer, which needs neither, never pays for
    # SQLAlchemy's import.
    tenancy = lazy_module("lamina.tenancy.service")

BEARER_SCHEME = "Bearer"
MAX_CREDENTIAL_LENGTH = 8192


@dataclass(frozen=True)
class Credential:
    """A verified credential, before any project is chosen."""

    kind: PrincipalKind
    cognito: CognitoClaims | None = None
    api_key: VerifiedKey | None = None
    service: ServiceClaims | None = None
    token: str = ""


def parse_authorization(header: str | None) -> tuple[str, str]:
    """`<scheme> <value>` with the scheme normalised; UnauthenticatedError when absent or unknown."""
    if not header:
        raise UnauthenticatedError("missing Authorization header (Bearer <token> or ApiKey <key>)")
    if len(header) > MAX_CREDENTIAL_LENGTH:
        raise UnauthenticatedError("Authorization header too long")
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if not value:
        # Agenta's generated client (`ag.api` after `ag.init`) sends the bare key as the whole header.
        return (BEARER_SCHEME if looks_like_jwt(scheme) else API_KEY_SCHEME), scheme
    if scheme.lower() == API_KEY_SCHEME.lower():
        return API_KEY_SCHEME, value
    if scheme.lower() == BEARER_SCHEME.lower():
        return BEARER_SCHEME, value
    raise UnauthenticatedError(f"unsupported Authorization scheme {scheme!r}")


def authenticate(header: str | None, session: Session | None = None) -> Credential:
    """Verify whatever credential the header carries (no project resolution, no user bootstrap)."""
    scheme, value = parse_authorization(header)
    # An API key has exactly one dot, a JWT two: `Bearer <key>` works too, for OpenAI-style clients.
    if scheme == API_KEY_SCHEME or not looks_like_jwt(value):
        return Credential(kind=PrincipalKind.API_KEY, api_key=verify_api_key(value, session))
    if is_service_token(value):
        return Credential(kind=PrincipalKind.SERVICE, service=verify_service_token(value))
    return Credential(kind=PrincipalKind.USER, cognito=verify_cognito_token(value), token=value)


def resolve_principal(
    session: Session, credential: Credential, requested_project_id: uuid.UUID | None
) -> Principal:
    """The project the request acts in and the caller's role there."""
    if credential.api_key is not None:
        key = credential.api_key
        _check_bound_project(key.project_id, requested_project_id, "API key")
        return Principal(
            kind=PrincipalKind.API_KEY,
            project_id=key.project_id,
            workspace_id=key.workspace_id,
            organization_id=key.organization_id,
            role=key.role,
            user_id=key.user_id,
            api_key_id=key.id,
        )
    if credential.service is not None:
        claims = credential.service
        _check_bound_project(claims.project_id, requested_project_id, "service token")
        scope = tenancy.project_scope(session, claims.project_id)
        return Principal(
            kind=PrincipalKind.SERVICE,
            project_id=scope.project_id,
            workspace_id=scope.workspace_id,
            organization_id=scope.organization_id,
            role=claims.role,
            service=claims.subject,
        )
    assert credential.cognito is not None
    user = _user_for_claims(session, credential.cognito, credential.token)
    return tenancy.user_principal(session, user, requested_project_id)


def _check_bound_project(bound: uuid.UUID, requested: uuid.UUID | None, what: str) -> None:
    if requested is not None and requested != bound:
        raise ForbiddenError(f"this {what} belongs to another project")


def _user_for_claims(session: Session, claims: CognitoClaims, token: str) -> User:
    user = tenancy.user_by_cognito_sub(session, claims.sub)
    if user is not None:
        return user
    # First sign-in: bootstrap an organization, workspace and project for this identity.
    email = claims.email or _email_from_cognito(claims, token)
    user, _ = tenancy.bootstrap_user(session, email=email, cognito_sub=claims.sub)
    return user


def _email_from_cognito(claims: CognitoClaims, token: str) -> str:
    """Access tokens carry no email: ask Cognito once, at first sign-in, with the caller's own token."""
    if claims.username and "@" in claims.username:
        return claims.username
    if claims.token_use == "access":
        from lamina import aws

        try:
            response = aws.client("cognito-idp").get_user(AccessToken=token)
        except Exception as error:
            raise UnauthenticatedError(f"could not read the signed-in user's profile: {error}") from error
        for attribute in response.get("UserAttributes", []):
            if attribute.get("Name") == "email" and attribute.get("Value"):
                return str(attribute["Value"])
    raise UnauthenticatedError("the token carries no email and the user profile has none")
