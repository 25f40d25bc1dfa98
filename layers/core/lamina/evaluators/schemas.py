"""Request bodies of the evaluator routes, shaped as Agenta's SDK sends them."""

# No `from __future__ import annotations` here: pydantic would compile and evaluate each field's annotation
# string when the class is made, at the API function's cold start (see lamina.api.schemas.Model).

import uuid
from typing import Any

from pydantic import Field

from lamina.api.schemas import Body, Reference, Windowing
from lamina.artifacts.schemas import (
    ArtifactFilter,
    ArtifactHeader,
    CommitMessage,
    LogDepth,
    Name,
    RevisionSlug,
    Slug,
)


class EvaluatorData(Body):
    """Agenta's workflow revision data: `uri` names the kind (`agenta:builtin:<key>:v0`), `parameters` its
    settings; a code evaluator may keep its code in `script`, a webhook its URL in `url`."""

    uri: str | None = Field(default=None, max_length=500)
    url: str | None = Field(default=None, max_length=2048)
    headers: dict[str, Any] | None = None
    runtime: str | None = Field(default=None, max_length=40)
    script: str | None = None
    schemas: dict[str, Any] | None = None
    parameters: dict[str, Any] | None = None


class EvaluatorFields(ArtifactHeader):
    pass


class EvaluatorCreate(Body):
    evaluator: EvaluatorFields


class EvaluatorFilter(ArtifactFilter):
    pass


class EvaluatorQuery(Body):
    evaluator: EvaluatorFilter | None = None
    evaluator_refs: list[Reference] | None = None
    include_archived: bool = False
    windowing: Windowing | None = None


class VariantFields(Body):
    evaluator_id: uuid.UUID
    slug: Slug
    name: Name | None = None
    description: str | None = None
    flags: dict[str, Any] | None = None
    tags: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None


class VariantCreate(Body):
    evaluator_variant: VariantFields


class RevisionFields(Body):
    evaluator_id: uuid.UUID | None = None
    evaluator_variant_id: uuid.UUID | None = None
    slug: RevisionSlug | None = None
    name: Name | None = None
    description: str | None = None
    flags: dict[str, Any] | None = None
    tags: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None
    message: CommitMessage | None = None
    data: EvaluatorData = Field(default_factory=EvaluatorData)


class RevisionCommit(Body):
    evaluator_revision: RevisionFields


class RevisionRetrieve(Body):
    evaluator_ref: Reference | None = None
    evaluator_variant_ref: Reference | None = None
    evaluator_revision_ref: Reference | None = None
    # Lamina's evaluator data embeds no references: a revision is always answered resolved.
    resolve: bool | None = None


class RevisionLog(Body):
    evaluator_ref: Reference | None = None
    evaluator_variant_ref: Reference | None = None
    evaluator_revision_ref: Reference | None = None
    depth: LogDepth | None = None


class SimpleEvaluatorFields(ArtifactHeader):
    data: EvaluatorData | None = None
    message: CommitMessage | None = None


class SimpleEvaluatorCreate(Body):
    evaluator: SimpleEvaluatorFields


class SimpleEvaluatorEdits(Body):
    id: uuid.UUID | None = None
    name: Name | None = None
    description: str | None = None
    flags: dict[str, Any] | None = None
    tags: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None
    data: EvaluatorData | None = None
    message: CommitMessage | None = None


class SimpleEvaluatorEdit(Body):
    evaluator: SimpleEvaluatorEdits


class EvaluatorTrial(Body):
    """Run a kind on one case without saving anything (the playground of evaluators)."""

    kind: str = Field(min_length=1, max_length=200, description="Agenta's key, its URI or Lamina's alias")
    settings: dict[str, Any] = Field(default_factory=dict)
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: Any = None
    testcase: dict[str, Any] = Field(default_factory=dict)
