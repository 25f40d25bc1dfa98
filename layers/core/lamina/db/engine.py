"""The process-wide engine. Lambda containers keep it between invocations; never build one per request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lamina.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

# Small pools: a Lambda container serves one request at a time; the local runtime runs many containers.
POOL_SIZE = 2
POOL_MAX_OVERFLOW = 3
# Recycle before RDS Proxy / pgbouncer idle timeouts would cut a pooled connection.
POOL_RECYCLE_S = 300

_engine: Engine | None = None
_sessionmaker: sessionmaker[Session] | None = None


class DatabaseNotConfiguredError(RuntimeError):
    pass


def sqlalchemy_url(database_url: str) -> str:
    """Turn a libpq-style URL (what pgserver, RDS and users give) into a SQLAlchemy pg8000 URL.

    `postgresql://user@/db?host=/run/pg` (a unix socket folder, libpq style) becomes
    `postgresql+pg8000://user@/db?unix_sock=/run/pg/.s.PGSQL.5432`, the form pg8000 understands.
    """
    if not database_url:
        raise DatabaseNotConfiguredError("DATABASE_URL is not set")
    parts = urlsplit(database_url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in ("postgres", "postgresql"):
        raise DatabaseNotConfiguredError(f"DATABASE_URL must be a postgresql:// URL, not {scheme}://")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    socket_dir = query.pop("host", None)
    if socket_dir and socket_dir.startswith("/"):
        port = query.pop("port", None) or str(parts.port or 5432)
        query["unix_sock"] = f"{socket_dir.rstrip('/')}/.s.PGSQL.{port}"
    # libpq options pg8000 does not take.
    for libpq_only in ("sslmode", "connect_timeout", "application_name"):
        query.pop(libpq_only, None)
    return urlunsplit(("postgresql+pg8000", parts.netloc, parts.path, urlencode(query), ""))


def _ssl_connect_args(database_url: str) -> dict[str, Any]:
    sslmode = dict(parse_qsl(urlsplit(database_url).query)).get("sslmode")
    if sslmode in ("require", "verify-ca", "verify-full"):
        import ssl

        context = ssl.create_default_context()
        if sslmode == "require":
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return {"ssl_context": context}
    return {}


def get_engine() -> Engine:
    """The engine for DATABASE_URL, created on first use."""
    global _engine
    if _engine is None:
        from sqlalchemy import create_engine

        database_url = get_settings().database_url
        _engine = create_engine(
            sqlalchemy_url(database_url),
            pool_size=POOL_SIZE,
            max_overflow=POOL_MAX_OVERFLOW,
            pool_recycle=POOL_RECYCLE_S,
            pool_pre_ping=True,
            connect_args={"timeout": 10, **_ssl_connect_args(database_url)},
        )
    return _engine


def get_sessionmaker() -> sessionmaker[Session]:
    global _sessionmaker
    if _sessionmaker is None:
        from sqlalchemy.orm import sessionmaker

        _sessionmaker = sessionmaker(bind=get_engine(), expire_on_commit=False)
    return _sessionmaker


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def reset_engine() -> None:
    """Dispose of the engine (tests, settings changes, after fork)."""
    global _engine, _sessionmaker
    if _engine is not None:
        _engine.dispose()
    _engine = None
    _sessionmaker = None
