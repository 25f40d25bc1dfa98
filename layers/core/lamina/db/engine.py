"""The process-wide engine. Lambda containers keep it between invocations; never build one per request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker


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


def ssl_connect_args(database_url: str) -> dict[str, Any]:
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
    """The process's engine for DATABASE_URL (held by `lamina.state`), created on first use."""
    from lamina.state import current

    return current().engine


def get_sessionmaker() -> sessionmaker[Session]:
    from lamina.state import current

    return current().sessionmaker
