"""Request shapes every domain shares: references and cursor windowing (Agenta's conventions)."""

# No `from __future__ import annotations` here: pydantic would compile and evaluate each field's annotation
# string when the class is made, at the API function's cold start (see lamina.api.schemas.Model).

import uuid
import warnings
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_WINDOW_LIMIT = 100
MAX_WINDOW_LIMIT = 1000
# Versions are stored as Postgres `integer`: a larger one names nothing (and must not reach the database).
MAX_VERSION = 2**31 - 1


warnings.filterwarnings(
    "ignore", message=r"The 'alias' attribute with value '\w+' was provided to the `Field\(\)` function"
)


class Model(BaseModel):
    """Base of every request and response shape. Its validator is built on first use, not at import: the API function's
    cold start imports every route's models, and a warm call (or SnapStart priming) builds them.

    Request bodies defer too. FastAPI wraps a body parameter as `Annotated[Model, Body(alias=<name>)]`, and
    when a deferred model's validator is built there pydantic warns that the alias has no effect: it has none
    for a single, non-embedded body, so that one warning is silenced (here and in pytest's settings).

    Modules of models imported at cold start do without `from __future__ import annotations`: pydantic
    resolves each field's type when the class is made, and a string annotation costs a compile and an eval
    there (about 0.05 s over the API's 1,200 fields); a forward or type-only reference is quoted instead."""

    model_config = ConfigDict(defer_build=True)


class Reference(Model):
    """`{id?, slug?, version?}`: any one field identifies the object."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    id: uuid.UUID | None = None
    slug: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    version: Annotated[int, Field(ge=0, le=MAX_VERSION)] | None = None

    @model_validator(mode="after")
    def _something_identifies(self) -> "Reference":
        if self.id is None and self.slug is None and self.version is None:
            raise ValueError("a reference needs an id, a slug or a version")
        return self


class Windowing(Model):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    next: uuid.UUID | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_WINDOW_LIMIT)] = DEFAULT_WINDOW_LIMIT
    order: Literal["ascending", "descending"] = "descending"


class Body(Model):
    """Base of every request body: unknown fields are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


class View(Model):
    """Base of every response shape: built from ORM rows by attribute, documented in the OpenAPI."""

    model_config = ConfigDict(from_attributes=True, defer_build=True)


def build_deferred_validators() -> None:
    """Build every request and response model's validator now (SnapStart priming: before the snapshot, not
    on a first call). Only models whose modules are imported are built."""
    pending: list[type[Model]] = [Model]
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        if model is not Model:
            model.model_rebuild(force=True)
