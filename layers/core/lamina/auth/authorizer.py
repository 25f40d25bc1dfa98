"""The HTTP API's Lambda REQUEST authorizer (payload format 2.0, simple responses).

It accepts `Bearer <Cognito JWT or service token>` and `ApiKey <prefix>.<secret>`, and hands the integration
a small context. It is a first gate only: the API verifies the credential again and resolves the project and
role itself, because the gateway caches decisions (a revoked key must stop at once in the app) and because a
misconfigured route might skip the authorizer altogether.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from lamina.errors import ForbiddenError, UnauthenticatedError, UnavailableError

logger = logging.getLogger(__name__)


def _authorization_header(event: Mapping[str, Any]) -> str | None:
    headers = event.get("headers") or {}
    for name, value in headers.items():
        if name.lower() == "authorization":
            return str(value)
    identity = event.get("identitySource") or []
    return str(identity[0]) if identity else None


def authorize(event: Mapping[str, Any]) -> dict[str, Any]:
    """`{"isAuthorized": bool, "context": {...}}` for one authorizer event.

    A bad credential is a refusal (401 at the gateway); a broken dependency (JWKS, database) raises, so the
    gateway answers an error instead of telling a valid caller their credential is wrong. An outage of the
    database or cache raises `UnavailableError` (the invocation's errorType), logged once per outage rather
    than a traceback per request: the local gateway answers it 503 with Retry-After (API Gateway, 500).
    """
    from lamina.auth.service import authenticate

    try:
        credential = authenticate(_authorization_header(event))
    except (UnauthenticatedError, ForbiddenError) as error:
        logger.info("request refused", extra={"reason": error.message, "route": event.get("routeKey")})
        return {"isAuthorized": False, "context": {}}
    except Exception as error:
        from lamina.db.failures import classify_dependency_failure

        failure = classify_dependency_failure(error)
        if failure is None:
            raise
        from lamina.outages import report_failure

        report_failure(failure.dependency, error)
        raise UnavailableError(failure.message) from error
    context: dict[str, Any] = {"kind": credential.kind.value}
    if credential.api_key is not None:
        context.update(
            api_key_id=str(credential.api_key.id),
            project_id=str(credential.api_key.project_id),
            role=credential.api_key.role,
        )
    elif credential.service is not None:
        context.update(
            service=credential.service.subject,
            project_id=str(credential.service.project_id),
            role=credential.service.role,
        )
    elif credential.cognito is not None:
        context.update(sub=credential.cognito.sub, token_use=credential.cognito.token_use)
    return {"isAuthorized": True, "context": context}
