"""The one message shape on every Lamina queue."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lamina.db.base import utcnow
from lamina.ids import uuid7

ENVELOPE_VERSION = 1


class PoisonMessageError(ValueError):
    """A message that can never be processed (not JSON, not an envelope, unknown type)."""


class Envelope(BaseModel):
    """A typed message: `type` names what happened or what to do, `payload` carries its data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: uuid.UUID = Field(default_factory=uuid7)
    type: str = Field(min_length=1, max_length=200)
    version: int = ENVELOPE_VERSION
    occurred_at: datetime = Field(default_factory=utcnow)
    project_id: uuid.UUID | None = None
    payload: dict[str, Any] = Field(default_factory=dict)
    # W3C traceparent of the publisher, so a worker's spans join the request's trace.
    traceparent: str | None = None
    # How many trigger runs led to this message: 0 for what a user's request caused, n + 1 for what a trigger
    # run at depth n caused (through any chain of workers). A trigger whose run emits an event it matches
    # would otherwise loop forever; past TRIGGER_MAX_DEPTH it stops (`lamina.triggers.dispatch`).
    depth: int = Field(default=0, ge=0)

    def to_body(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_body(cls, body: str) -> Envelope:
        try:
            return cls.model_validate(json.loads(body))
        except (json.JSONDecodeError, ValidationError, TypeError) as error:
            raise PoisonMessageError(f"not a Lamina envelope: {error}") from error
