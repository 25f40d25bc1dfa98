"""Postgres through SQLAlchemy 2 on pg8000: one lazily created engine per process.

Sessions come from `lamina.db.unit_of_work.unit_of_work()` (or the API's `SessionDep`), the one unit of work:
committed on success, then its after-commit effects (outbox publish, cache invalidation) run.
"""

from lamina.db.engine import get_engine, get_sessionmaker, sqlalchemy_url

__all__ = ["get_engine", "get_sessionmaker", "sqlalchemy_url"]
