"""Response bodies of the evaluator routes (Agenta's shapes: a revision's `version` is a string)."""

# No `from __future__ import annotations` here: pydantic would compile and evaluate each field's annotation
# string when the class is made, at the API function's cold start (see lamina.api.schemas.Model).

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from lamina.artifacts.responses import ArtifactOut, ArtifactVariantOut, Out, WindowingOut


class EvaluatorDataOut(Out):
    uri: str | None = None
    url: str | None = None
    headers: dict[str, Any] | None = None
    runtime: str | None = None
    script: str | None = None
    schemas: dict[str, Any] | None = None
    parameters: dict[str, Any] | None = None


class EvaluatorOut(ArtifactOut):
    pass


class SimpleEvaluatorOut(EvaluatorOut):
    variant_id: uuid.UUID | None = None
    revision_id: uuid.UUID | None = None
    version: str | None = None
    data: EvaluatorDataOut | None = None


class VariantOut(ArtifactVariantOut):
    kind_id: uuid.UUID = Field(alias="evaluator_id")


class RevisionOut(Out):
    id: uuid.UUID
    slug: str
    version: str
    message: str | None
    data: EvaluatorDataOut
    evaluator_id: uuid.UUID
    artifact_id: uuid.UUID
    evaluator_variant_id: uuid.UUID
    variant_id: uuid.UUID
    evaluator_slug: str | None = None
    evaluator_variant_slug: str | None = None
    created_at: datetime | None
    created_by: str | None


class EvaluatorResponse(Out):
    count: int
    evaluator: EvaluatorOut


class EvaluatorsResponse(Out):
    count: int
    evaluators: list[EvaluatorOut]
    windowing: WindowingOut | None = None


class SimpleEvaluatorResponse(Out):
    count: int
    evaluator: SimpleEvaluatorOut


class SimpleEvaluatorsResponse(Out):
    count: int
    evaluators: list[SimpleEvaluatorOut]
    windowing: WindowingOut | None = None


class VariantResponse(Out):
    count: int
    evaluator_variant: VariantOut


class RevisionResponse(Out):
    """Nothing found answers `count: 0` and no revision (as Agenta does; its SDK relies on it)."""

    count: int
    evaluator_revision: RevisionOut | None = None


class RevisionsResponse(Out):
    count: int
    evaluator_revisions: list[RevisionOut]


class CatalogKindData(Out):
    uri: str
    schemas: dict[str, Any]


class CatalogKind(Out):
    """A built-in kind: Agenta's key and URI, Lamina's alias, and the JSON schema of its settings."""

    key: str
    alias: str
    name: str
    description: str
    uri: str
    data: CatalogKindData


class CatalogResponse(Out):
    count: int
    templates: list[CatalogKind]


class CatalogKindResponse(Out):
    count: int
    template: CatalogKind


class EvaluatorTrialResponse(Out):
    outputs: dict[str, Any]
    error: str | None = None
    duration_ms: float
