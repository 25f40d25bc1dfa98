"""Response bodies of the test set routes (Agenta's shapes: a revision's `version` is a string)."""

# No `from __future__ import annotations` here: pydantic would compile and evaluate each field's annotation
# string when the class is made, at the API function's cold start (see lamina.api.schemas.Model).

import uuid
from typing import Any

from pydantic import Field, RootModel

from lamina.artifacts.responses import ArtifactOut, ArtifactRevisionOut, ArtifactVariantOut, Out, WindowingOut


class TestcaseOut(Out):
    __test__ = False

    id: uuid.UUID
    testset_id: uuid.UUID
    data: dict[str, Any]


class TestsetDataOut(Out):
    __test__ = False

    testcase_ids: list[uuid.UUID] | None = None
    testcases: list[TestcaseOut] | None = None


class TestsetOut(ArtifactOut):
    __test__ = False


class SimpleTestsetOut(TestsetOut):
    """The header with the default variant's latest revision flattened in (null without one)."""

    variant_id: uuid.UUID | None = None
    revision_id: uuid.UUID | None = None
    version: str | None = None
    data: TestsetDataOut | None = None


class VariantOut(ArtifactVariantOut):
    kind_id: uuid.UUID = Field(alias="testset_id")


class RevisionOut(ArtifactRevisionOut[str, TestsetDataOut]):
    kind_id: uuid.UUID = Field(alias="testset_id")
    kind_variant_id: uuid.UUID = Field(alias="testset_variant_id")


class TestsetResponse(Out):
    __test__ = False

    count: int
    testset: TestsetOut


class TestsetsResponse(Out):
    __test__ = False

    count: int
    testsets: list[TestsetOut]
    windowing: WindowingOut | None = None


class SimpleTestsetResponse(Out):
    count: int
    testset: SimpleTestsetOut


class SimpleTestsetsResponse(Out):
    count: int
    testsets: list[SimpleTestsetOut]
    windowing: WindowingOut | None = None


class VariantResponse(Out):
    count: int
    testset_variant: VariantOut


class VariantsResponse(Out):
    count: int
    testset_variants: list[VariantOut]
    windowing: WindowingOut | None = None


class ForkResponse(Out):
    count: int
    testset_variant: VariantOut
    testset_revision: RevisionOut


class RevisionResponse(Out):
    """A variant with nothing committed answers `count: 0` and no revision (as Agenta does)."""

    count: int
    testset_revision: RevisionOut | None = None


class RevisionsResponse(Out):
    count: int
    testset_revisions: list[RevisionOut]
    windowing: WindowingOut | None = None


class TestcaseResponse(Out):
    __test__ = False

    count: int
    testcase: TestcaseOut


class TestcasesResponse(Out):
    __test__ = False

    count: int
    testcases: list[TestcaseOut]
    windowing: WindowingOut | None = None


class TestsetRows(RootModel[list[dict[str, Any]]]):
    """A downloaded test set as JSON: one object per test case, its columns as keys."""

    __test__ = False
