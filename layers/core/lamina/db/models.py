"""Imports every domain's models so `Base.metadata` knows all tables (Alembic, tests)."""

from lamina.db.base import Base
from lamina.events import models as events_models
from lamina.tenancy import models as tenancy_models

__all__ = ["Base", "events_models", "tenancy_models"]
