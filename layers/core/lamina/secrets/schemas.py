"""Request bodies of `/api/secrets/`: values are write-only."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from lamina.api.schemas import Body

MAX_SECRET_BYTES = 16 * 1024
SecretName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-.]{0,199}$")]
SecretValue = Annotated[str, Field(min_length=1, max_length=MAX_SECRET_BYTES)]
SecretKind = Literal["provider_key", "custom"]


class SecretFields(Body):
    name: SecretName
    kind: SecretKind = "provider_key"
    provider: Annotated[str, Field(max_length=100)] | None = None
    description: str | None = None
    value: SecretValue


class SecretCreate(Body):
    secret: SecretFields


class SecretEdits(Body):
    description: str | None = None
    provider: Annotated[str, Field(max_length=100)] | None = None
    value: SecretValue | None = None


class SecretEdit(Body):
    secret: SecretEdits
