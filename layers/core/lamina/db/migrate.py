"""Alembic migrations, run programmatically (by `lamina up`, the tests and a deploy step)."""

from __future__ import annotations

from pathlib import Path

from lamina.db.engine import sqlalchemy_url
from lamina.settings import get_settings

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Serialises concurrent migrators (several workers or test processes starting at once).
MIGRATION_LOCK_KEY = 0x4C414D494E41  # "LAMINA"


def upgrade(database_url: str | None = None, revision: str = "head") -> None:
    """Bring the schema at `database_url` (default: settings) up to `revision`."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    url = sqlalchemy_url(database_url or get_settings().database_url)
    config.attributes["sqlalchemy_url"] = url
    command.upgrade(config, revision)
