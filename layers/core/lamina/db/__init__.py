"""Postgres through SQLAlchemy 2 on pg8000: one lazily created engine per process."""

from lamina.db.engine import get_engine, get_sessionmaker, session_scope, sqlalchemy_url

__all__ = ["get_engine", "get_sessionmaker", "session_scope", "sqlalchemy_url"]
