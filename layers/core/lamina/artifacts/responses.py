"""Response shapes every artifact kind shares: the base of its response bodies, the windowing cursor, and an
artifact's header as `lamina.artifacts.views.artifact_view` builds it. A kind subclasses them under its own
names (`ApplicationOut`, `TestsetOut`), so its OpenAPI schemas keep their names.

Routes return plain dicts; FastAPI checks them against these models and serialises only the fields the dict
set, so an optional field (`windowing`, `environment_revision`) is absent rather than null when the route
did not set it.
"""

# No `from __future__ import annotations` here: see lamina.api.schemas.Model.

import uuid
from datetime import datetime
from typing import Any

from lamina.api.schemas import Model


class Out(Model):
    """Base of every artifact response body (its validator is built on first use: see `Model`)."""


class WindowingOut(Out):
    """Where the next window starts (pass it back as `windowing.next`)."""

    next: uuid.UUID | None = None


class ArtifactOut(Out):
    id: uuid.UUID
    slug: str
    name: str | None
    description: str | None
    flags: dict[str, Any]
    tags: dict[str, Any]
    meta: dict[str, Any]
    project_id: uuid.UUID
    created_at: datetime | None
    updated_at: datetime | None
    created_by: str | None
    archived_at: datetime | None
