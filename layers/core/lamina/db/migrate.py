"""Alembic migrations, run programmatically (by `lamina up`, the tests and a deploy step)."""

from __future__ import annotations

import re
from pathlib import Path

from lamina.db.engine import sqlalchemy_url
from lamina.settings import get_settings

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Serialises concurrent migrators (several workers or test processes starting at once).
MIGRATION_LOCK_KEY = 0x4C414D494E41  # "LAMINA"
_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*=\s*(.+)$", re.MULTILINE)


def script_heads() -> set[str]:
    """The head revisions of the migration scripts, read from their files without importing Alembic."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found = {match.group(1): match.group(2) for match in _REVISION_LINE.finditer(path.read_text())}
        revision = found.get("revision", "").strip("\"' ")
        if revision:
            revisions.add(revision)
        parents.update(re.findall(r"[\"']([^\"']+)[\"']", found.get("down_revision", "")))
    return revisions - parents


def database_heads(url: str) -> set[str]:
    """The revisions the database says it is at (empty for a new database)."""
    from sqlalchemy import create_engine, pool, text
    from sqlalchemy.exc import ProgrammingError

    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
            return {str(row[0]) for row in rows}
    except ProgrammingError:  # no alembic_version table yet
        return set()
    finally:
        engine.dispose()


def upgrade(database_url: str | None = None, revision: str = "head") -> None:
    """Bring the schema at `database_url` (default: settings) up to `revision`.

    A database already at the scripts' head returns at once: Alembic itself takes half a second to import,
    which every `lamina up` and deploy-time migration would otherwise pay for nothing.
    """
    url = sqlalchemy_url(database_url or get_settings().database_url)
    if revision == "head" and database_heads(url) == script_heads():
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["sqlalchemy_url"] = url
    command.upgrade(config, revision)
