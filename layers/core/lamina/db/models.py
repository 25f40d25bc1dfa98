"""Imports every domain's models so `Base.metadata` knows all tables (Alembic, tests)."""

from lamina.applications import models as applications_models
from lamina.artifacts import models as artifacts_models
from lamina.db.base import Base
from lamina.evaluations import models as evaluations_models
from lamina.evaluators import models as evaluators_models
from lamina.events import models as events_models
from lamina.events import outbox as events_outbox
from lamina.queues import inbox as queues_inbox
from lamina.secrets import models as secrets_models
from lamina.sessions import models as sessions_models
from lamina.tenancy import models as tenancy_models
from lamina.testsets import models as testsets_models
from lamina.tracing import models as tracing_models
from lamina.triggers import models as triggers_models
from lamina.webhooks import models as webhooks_models

__all__ = [
    "Base",
    "applications_models",
    "artifacts_models",
    "evaluations_models",
    "evaluators_models",
    "events_models",
    "events_outbox",
    "queues_inbox",
    "secrets_models",
    "sessions_models",
    "tenancy_models",
    "testsets_models",
    "tracing_models",
    "triggers_models",
    "webhooks_models",
]
