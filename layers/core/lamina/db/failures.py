"""Telling a dependency's outage from a bug: what `lamina.api.errors` answers 503/504 (with Retry-After) for.

A Postgres that is down, restarting or refusing connections, a statement or lock timeout, the driver's
socket timeout, a Redis that is unreachable: the request may succeed if retried, so the client is told so
instead of a bare 500. Classified by walking the exception's chain, without importing a driver that the
process has not loaded (the check runs on every unexpected error).
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

# SQLSTATE classes and codes that mean "not now" rather than "never".
UNAVAILABLE_SQLSTATE_PREFIXES = ("08", "53", "57P")  # connection, insufficient resources, shutdown/starting
STATEMENT_TIMEOUT_SQLSTATE = "57014"  # query_canceled: statement_timeout fired
LOCK_TIMEOUT_SQLSTATE = "55P03"  # lock_not_available: lock_timeout fired
SERIALIZATION_SQLSTATES = ("40001", "40P01")  # serialization failure, deadlock: retrying succeeds
RETRY_AFTER_S = 2
MAX_CHAIN = 10


@dataclass(frozen=True)
class DependencyFailure:
    """How to answer: 503 (try again shortly) or 504 (it did not answer in time), and why."""

    status: int
    code: str
    message: str
    retry_after_s: int = RETRY_AFTER_S

    @property
    def dependency(self) -> str:
        """The name an outage is logged under."""
        if self.code.startswith("database"):
            return "postgres"
        if self.code.startswith("cache"):
            return "redis"
        return "a dependency"


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen and len(seen) < MAX_CHAIN:
        seen.append(current)
        original = getattr(current, "orig", None)  # SQLAlchemy's wrapper holds the driver's error here
        if isinstance(original, BaseException) and original not in seen:
            seen.append(original)
        current = current.__cause__ or current.__context__
    return seen


def _sqlstate(error: BaseException) -> str | None:
    """pg8000 puts the server's error fields in args[0] (`C` is the SQLSTATE)."""
    first = error.args[0] if error.args else None
    if isinstance(first, dict):
        code = first.get("C")
        return str(code) if code else None
    return None


def _is_instance(error: BaseException, module: str, names: tuple[str, ...]) -> bool:
    loaded = sys.modules.get(module)
    if loaded is None:
        return False
    classes = tuple(getattr(loaded, name) for name in names if hasattr(loaded, name))
    return bool(classes) and isinstance(error, classes)


def classify_dependency_failure(error: BaseException) -> DependencyFailure | None:
    """A DependencyFailure when `error` comes from an unavailable or too slow database or cache, else None."""
    for link in _chain(error):
        state = _sqlstate(link)
        if state == STATEMENT_TIMEOUT_SQLSTATE:
            return DependencyFailure(504, "database_timeout", "the database did not answer in time; retry")
        if state == LOCK_TIMEOUT_SQLSTATE:
            return DependencyFailure(
                503, "database_busy", "the data is locked by another change; retry shortly"
            )
        if state in SERIALIZATION_SQLSTATES:
            return DependencyFailure(503, "database_busy", "a concurrent change conflicted; retry", 1)
        if state and state.startswith(UNAVAILABLE_SQLSTATE_PREFIXES):
            return DependencyFailure(
                503, "database_unavailable", "the database is unavailable; retry shortly"
            )
        if _is_instance(link, "pg8000.exceptions", ("InterfaceError",)) or _is_instance(
            link, "sqlalchemy.exc", ("TimeoutError", "DisconnectionError")
        ):
            return DependencyFailure(
                503, "database_unavailable", "the database is unavailable; retry shortly"
            )
        if _is_instance(link, "sqlalchemy.exc", ("DBAPIError",)) and getattr(
            link, "connection_invalidated", False
        ):
            return DependencyFailure(503, "database_unavailable", "the database connection was lost; retry")
        if _is_instance(link, "redis.exceptions", ("ConnectionError", "TimeoutError", "BusyLoadingError")):
            return DependencyFailure(
                503, "cache_unavailable", "the cache (Redis) is unavailable; retry shortly"
            )
        if isinstance(link, TimeoutError):
            return DependencyFailure(504, "dependency_timeout", "a dependency did not answer in time; retry")
        if isinstance(link, ConnectionRefusedError | ConnectionResetError | BrokenPipeError):
            return DependencyFailure(
                503, "dependency_unavailable", "a dependency is unavailable; retry shortly"
            )
    return None


# SQLAlchemy's pool logs every dead pooled connection it discards with a traceback (two per connection).
POOL_LOGGER = "sqlalchemy.pool.impl.QueuePool"


class DeadConnectionLogFilter(logging.Filter):
    """Turns the pool's traceback for a connection that died with the database into one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and (
            classify_dependency_failure(error) is not None or type(error).__name__ == "InvalidatePoolError"
        ):
            record.msg = f"{record.msg} (the database went away: {type(error).__name__})"
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def quiet_dead_connection_logs() -> None:
    """Install the filter once per process (idempotent)."""
    pool_logger = logging.getLogger(POOL_LOGGER)
    if not any(isinstance(f, DeadConnectionLogFilter) for f in pool_logger.filters):
        pool_logger.addFilter(DeadConnectionLogFilter())
