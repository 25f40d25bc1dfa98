"""Typed errors every domain raises; `lamina.api.errors` maps them to HTTP statuses in one place."""

from __future__ import annotations

from typing import Any


class LaminaError(Exception):
    """Base of every expected error: a message meant for the caller and a machine-readable code."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ValidationFailedError(LaminaError):
    status_code = 422
    code = "validation_failed"


class UnauthenticatedError(LaminaError):
    status_code = 401
    code = "unauthenticated"


class ForbiddenError(LaminaError):
    status_code = 403
    code = "forbidden"


class NotFoundError(LaminaError):
    status_code = 404
    code = "not_found"


class ConflictError(LaminaError):
    status_code = 409
    code = "conflict"


class PayloadTooLargeError(LaminaError):
    status_code = 413
    code = "payload_too_large"


class DependencyFailedError(LaminaError):
    """An upstream (an LLM provider, a webhook target) refused: 424 with its message."""

    status_code = 424
    code = "dependency_failed"


class RateLimitedError(LaminaError):
    status_code = 429
    code = "rate_limited"


class UnavailableError(LaminaError):
    status_code = 503
    code = "unavailable"
