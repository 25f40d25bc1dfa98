"""`GET /api/health`: is every backend this function needs reachable?"""

# No `from __future__ import annotations` here: pydantic would compile and evaluate each field's annotation
# string when the class is made, at the API function's cold start (see lamina.api.schemas.Model).

import time
from collections.abc import Callable
from typing import Literal

from fastapi import Response
from pydantic import Field

from lamina import __version__
from lamina.api.routing import DeferredRouter
from lamina.api.schemas import Model
from lamina.settings import get_settings

router = DeferredRouter(tags=["health"])

MAX_ERROR_CHARS = 300


class BackendCheck(Model):
    status: Literal["ok", "error"]
    error: str | None = Field(default=None, description="Why the backend failed; null when it is ok.")
    latency_ms: float


class HealthReport(Model):
    status: Literal["ok", "degraded"] = Field(description="`degraded` (with 503) when any check failed.")
    version: str
    checks: dict[str, BackendCheck]


def check_database() -> None:
    from sqlalchemy import text

    from lamina.db import get_engine

    with get_engine().connect() as connection:
        connection.execute(text("SELECT 1"))


def check_redis() -> None:
    from lamina.cache import get_redis

    get_redis().ping()


def check_s3() -> None:
    from lamina import aws

    aws.client("s3").head_bucket(Bucket=get_settings().bucket_name)


CHECKS: dict[str, Callable[[], None]] = {"database": check_database, "redis": check_redis, "s3": check_s3}


def run_check(check: Callable[[], None]) -> BackendCheck:
    started = time.perf_counter()
    try:
        check()
        error = None
    except Exception as failure:
        error = f"{type(failure).__name__}: {failure}"[:MAX_ERROR_CHARS]
    latency_ms = round((time.perf_counter() - started) * 1000, 2)
    return BackendCheck(status="ok" if error is None else "error", error=error, latency_ms=latency_ms)


def run_checks() -> HealthReport:
    checks = {name: run_check(check) for name, check in CHECKS.items()}
    healthy = all(check.status == "ok" for check in checks.values())
    return HealthReport(status="ok" if healthy else "degraded", version=__version__, checks=checks)


@router.get(
    "/health",
    responses={
        200: {"description": "Every backend answered."},
        503: {"model": HealthReport, "description": "A backend failed: the same report, naming it."},
    },
)
def health(response: Response) -> HealthReport:
    report = run_checks()
    if report.status != "ok":
        response.status_code = 503
    return report
