"""Who invokes a service: the caller's principal, verified once and then reused briefly by a warm function.

A playground or an evaluation sends invoke after invoke with the same credential. Verifying an API key is
two Redis round trips (the key's lookup, its last-use mark); a warm ServicesFunction instead reuses the
principal it verified for the same `Authorization` header (and project selector) for CALLER_REUSE_S.
That is the bound on how long a revoked key or a changed role may still invoke from a container that
served it just before: well inside the HTTP API authorizer's own cache (ReauthorizeEvery: 300 s in
infra/template.yaml), which already lets such a key through the gateway for longer.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import Request

    from lamina.tenancy.principal import Principal

CALLER_REUSE_S = 5.0
CALLERS_REMEMBERED = 1024


class VerifiedCallers:
    """Principals by a digest of their credential (never the credential itself), each for CALLER_REUSE_S."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._principals: dict[str, tuple[float, Principal]] = {}

    def get(self, key: str) -> Principal | None:
        with self._lock:
            entry = self._principals.get(key)
        return entry[1] if entry is not None and entry[0] > time.monotonic() else None

    def keep(self, key: str, principal: Principal) -> None:
        with self._lock:
            if len(self._principals) >= CALLERS_REMEMBERED:
                self._principals.clear()
            self._principals[key] = (time.monotonic() + CALLER_REUSE_S, principal)


def _verified_callers() -> VerifiedCallers:
    from lamina.state import current

    return current().memo("services:verified_callers", VerifiedCallers)


def _caller_key(request: Request) -> str | None:
    from lamina.api.deps import PROJECT_HEADER

    authorization = request.headers.get("authorization")
    if not authorization:
        return None
    selector = request.query_params.get("project_id") or request.headers.get(PROJECT_HEADER) or ""
    return hashlib.sha256(f"{authorization}\n{selector}".encode()).hexdigest()


def invoking_principal(request: Request) -> Principal:
    """The caller, allowed to view the project it acts in (what an invoke needs).

    Verified on the event loop, not in a worker thread: a warm API key is verified from Redis in well under
    a millisecond, less than a thread hop costs, and a Lambda container serves one request at a time, so
    nothing else waits on the loop meanwhile. A database session is opened only if the credential needs one.
    """
    from lamina.tenancy.roles import Permission, check_permission

    key = _caller_key(request)
    callers = _verified_callers()
    principal = callers.get(key) if key is not None else None
    if principal is None:
        from lamina.api.deps import current_principal
        from lamina.db.unit_of_work import unit_of_work

        with unit_of_work() as session:
            principal = current_principal(request, session)
        if key is not None:
            callers.keep(key, principal)
    request.state.principal = principal
    check_permission(principal, Permission.VIEW)
    return principal
