"""`GET /api/health`: is every backend this function needs reachable?"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from lamina import __version__
from lamina.settings import get_settings

router = APIRouter(tags=["health"])


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


def run_checks() -> tuple[bool, dict[str, Any]]:
    results: dict[str, Any] = {}
    healthy = True
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            check()
            results[name] = {"status": "ok"}
        except Exception as error:
            healthy = False
            results[name] = {"status": "error", "error": f"{type(error).__name__}: {error}"[:300]}
        results[name]["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return healthy, results


@router.get("/health")
def health() -> JSONResponse:
    healthy, checks = run_checks()
    body = {"status": "ok" if healthy else "degraded", "version": __version__, "checks": checks}
    return JSONResponse(body, status_code=200 if healthy else 503)
