"""Request bodies of the test set routes, shaped as Agenta's SDK sends them (kept out of models.py so routes
import no SQLAlchemy). Fields Agenta sends that Lamina does not use yet are accepted and ignored."""

# No `from __future__ import annotations` here: pydantic would compile and evaluate each field's annotation
# string when the class is made, at the API function's cold start (see lamina.api.schemas.Model).

import uuid
from typing import Annotated, Any

from pydantic import ConfigDict, Field

from lamina.api.schemas import Body, Reference, Windowing
from lamina.artifacts.schemas import (
    ArtifactFilter,
    ArtifactHeader,
    ArtifactHeaderEdits,
    CommitMessage,
    ForkedRevision,
    ForkedVariant,
    LogDepth,
    Name,
    RevisionSlug,
    Slug,
)

MAX_TESTCASES = 100_000


class TestcaseIn(Body):
    """Agenta's TestcaseInput: only `id` (to keep an unchanged case) and `data` (the row) are used."""

    __test__ = False
    # Agenta sends its blob lifecycle fields (created_at, set_id...) back; they are not ours to set.
    model_config = ConfigDict(extra="ignore", defer_build=True)

    id: uuid.UUID | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class TestsetRevisionDataIn(Body):
    """A revision's cases: the rows (`testcases`), or the ids of cases the test set already has."""

    __test__ = False

    testcase_ids: list[uuid.UUID] | None = Field(default=None, max_length=MAX_TESTCASES)
    testcases: list[TestcaseIn] | None = Field(default=None, max_length=MAX_TESTCASES)


class TestsetFields(ArtifactHeader):
    __test__ = False

    folder_id: uuid.UUID | None = None


class TestsetCreate(Body):
    __test__ = False

    testset: TestsetFields


class TestsetEdits(ArtifactHeaderEdits):
    __test__ = False

    folder_id: uuid.UUID | None = None


class TestsetEdit(Body):
    __test__ = False

    testset: TestsetEdits


class TestsetFilter(ArtifactFilter):
    """`name` matches as a case-insensitive substring; the other fields exactly."""

    __test__ = False

    folder_id: uuid.UUID | None = None


class TestsetQuery(Body):
    __test__ = False

    testset: TestsetFilter | None = None
    testset_refs: list[Reference] | None = None
    include_archived: bool = False
    windowing: Windowing | None = None


class VariantFields(Body):
    testset_id: uuid.UUID
    slug: Slug
    name: Name | None = None
    description: str | None = None
    flags: dict[str, Any] | None = None
    tags: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None


class VariantCreate(Body):
    testset_variant: VariantFields


class VariantFilter(Body):
    testset_id: uuid.UUID | None = None
    slug: str | None = None


class VariantQuery(Body):
    testset_variant: VariantFilter | None = None
    testset_refs: list[Reference] | None = None
    include_archived: bool = False
    windowing: Windowing | None = None


class VariantFork(Body):
    testset_variant_ref: Reference | None = None
    testset_revision_ref: Reference | None = None
    testset_variant: ForkedVariant
    testset_revision: ForkedRevision | None = None


class RevisionFields(Body):
    """Agenta's TestsetRevisionCommit: the variant (or, with only the test set, its default variant)."""

    testset_id: uuid.UUID | None = None
    artifact_id: uuid.UUID | None = None
    testset_variant_id: uuid.UUID | None = None
    variant_id: uuid.UUID | None = None
    slug: RevisionSlug | None = None
    name: Name | None = None
    description: str | None = None
    flags: dict[str, Any] | None = None
    tags: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None
    message: CommitMessage | None = None
    data: TestsetRevisionDataIn | None = None
    # Agenta's row/column delta against the previous revision: not supported (commit the rows instead).
    delta: dict[str, Any] | None = None


class RevisionCommit(Body):
    testset_revision: RevisionFields
    include_testcases: bool | None = None


class RevisionRetrieve(Body):
    testset_ref: Reference | None = None
    testset_variant_ref: Reference | None = None
    testset_revision_ref: Reference | None = None
    include_testcases: bool | None = None
    resolve: bool | None = None


class RevisionLog(Body):
    testset_ref: Reference | None = None
    testset_variant_ref: Reference | None = None
    testset_revision_ref: Reference | None = None
    depth: LogDepth | None = None


class RevisionFilter(Body):
    testset_id: uuid.UUID | None = None
    testset_variant_id: uuid.UUID | None = None


class RevisionQuery(Body):
    testset_revision: RevisionFilter | None = None
    testset_ref: Reference | None = None
    testset_variant_ref: Reference | None = None
    windowing: Windowing | None = None


class SimpleTestsetFields(Body):
    """Agenta's SimpleTestsetCreate: the header and the first revision's cases. No slug: one from the name."""

    slug: Slug | None = None
    name: Name | None = None
    description: str | None = None
    flags: dict[str, Any] | None = None
    tags: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None
    data: TestsetRevisionDataIn | None = None
    message: CommitMessage | None = None


class SimpleTestsetCreate(Body):
    testset: SimpleTestsetFields


class SimpleTestsetEdits(ArtifactHeaderEdits):
    """Header edits; `data`, when given, is committed as the next revision."""

    data: TestsetRevisionDataIn | None = None
    message: CommitMessage | None = None


class SimpleTestsetEdit(Body):
    testset: SimpleTestsetEdits


class SpanRef(Body):
    trace_id: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{32}$")] | None = None
    span_id: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{16}$")]


MAX_TRACE_SPANS = 10_000


class TestsetFromTraces(Body):
    """Test cases from spans: each span's inputs become columns (an object's keys, else `inputs`), its
    outputs the `outputs_column`. With `testset_id` the cases are appended as the test set's next revision."""

    __test__ = False

    spans: list[SpanRef] = Field(max_length=MAX_TRACE_SPANS)
    testset_id: uuid.UUID | None = None
    testset: SimpleTestsetFields | None = None
    outputs_column: Annotated[str, Field(min_length=1, max_length=200)] = "correct_answer"


class TestcaseQuery(Body):
    testcase_ids: list[uuid.UUID] | None = Field(default=None, max_length=1000)
    testset_id: uuid.UUID | None = None
    testset_revision_id: uuid.UUID | None = None
    windowing: Windowing | None = None
