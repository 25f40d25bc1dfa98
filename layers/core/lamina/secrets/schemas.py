"""Request bodies and response shapes of `/api/secrets/`: values are write-only, only masks come out."""

# No `from __future__ import annotations` here: pydantic would compile and evaluate each field's annotation
# string when the class is made, at the API function's cold start (see lamina.api.schemas.Model).

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal, cast

from pydantic import Field

from lamina.api.schemas import Body, View

if TYPE_CHECKING:
    from lamina.secrets.models import Secret

MAX_SECRET_BYTES = 16 * 1024
SecretName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-.]{0,199}$")]
SecretValue = Annotated[str, Field(min_length=1, max_length=MAX_SECRET_BYTES)]
SecretKind = Literal["provider_key", "custom"]
MASK = "••••••••"


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


# ---------------------------------------------------------------- responses


class SecretView(View):
    """A secret as the API shows it: the value only masked, never in clear."""

    id: uuid.UUID
    name: str
    kind: SecretKind
    provider: str | None
    description: str | None
    value: str = Field(description="The value masked, with its last characters when it is long enough.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, secret: "Secret") -> "SecretView":
        return cls(
            id=secret.id,
            name=secret.name,
            kind=cast("SecretKind", secret.kind),  # written only from SecretFields
            provider=secret.provider,
            description=secret.description,
            value=f"{MASK}{secret.hint}" if secret.hint else MASK,
            created_at=secret.created_at,
            updated_at=secret.updated_at,
        )


class SecretResponse(View):
    count: int
    secret: SecretView


class SecretsResponse(View):
    count: int
    secrets: list[SecretView]


class DeletedSecret(View):
    id: uuid.UUID
    deleted: Literal[True]


class SecretDeletedResponse(View):
    count: int
    secret: DeletedSecret
