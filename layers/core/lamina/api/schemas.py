"""Request shapes every domain shares: references and cursor windowing (Agenta's conventions)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_WINDOW_LIMIT = 100
MAX_WINDOW_LIMIT = 1000
# Versions are stored as Postgres `integer`: a larger one names nothing (and must not reach the database).
MAX_VERSION = 2**31 - 1


class Reference(BaseModel):
    """`{id?, slug?, version?}`: any one field identifies the object."""

    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID | None = None
    slug: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    version: Annotated[int, Field(ge=0, le=MAX_VERSION)] | None = None

    @model_validator(mode="after")
    def _something_identifies(self) -> Reference:
        if self.id is None and self.slug is None and self.version is None:
            raise ValueError("a reference needs an id, a slug or a version")
        return self


class Windowing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    next: uuid.UUID | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_WINDOW_LIMIT)] = DEFAULT_WINDOW_LIMIT
    order: Literal["ascending", "descending"] = "descending"


class Body(BaseModel):
    """Base of every request body: unknown fields are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class View(BaseModel):
    """Base of every response shape: built from ORM rows by attribute, documented in the OpenAPI."""

    model_config = ConfigDict(from_attributes=True)
