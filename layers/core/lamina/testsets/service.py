"""Test sets as a kind of revisioned artifact (see `lamina.artifacts`), and their test cases.

A revision's `data` is `{"testcase_ids": [...]}`; committing test cases first bulk-inserts the new ones (one
statement whatever their number: the rows travel as one JSON parameter, never one bind parameter per value),
then commits the id list. A case given back unchanged with its id keeps its row, so unchanged cases keep
their ids across revisions (what comparing evaluation runs joins on).

The library interface the evaluation runs use: `testcases_of`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from lamina.api.schemas import Reference
from lamina.artifacts import revisions, views
from lamina.artifacts import service as artifacts
from lamina.artifacts.kind import ArtifactKind
from lamina.artifacts.references import References
from lamina.artifacts.windowing import Window
from lamina.errors import NotFoundError, ValidationFailedError
from lamina.tenancy.principal import Principal
from lamina.testsets import schemas
from lamina.testsets.models import Testset, TestsetDeployment, TestsetRevision, TestsetVariant
from lamina.testsets.testcases import (
    Testcase as Testcase,
)
from lamina.testsets.testcases import (
    check_testcases_belong,
    revision_testcases,
    testcase_view,
    write_testcases,
)


def validate_revision_data(data: dict[str, Any]) -> dict[str, Any]:
    """A test set revision stores the ordered ids of its cases and the order of their columns (JSONB keeps
    no key order, and a downloaded file should have the columns it was uploaded with)."""
    ids, columns = data.get("testcase_ids"), data.get("columns", [])
    if set(data) - {"testcase_ids", "columns"} or not isinstance(ids, list) or not isinstance(columns, list):
        raise ValidationFailedError(
            "test set revision data is {testcase_ids: [...]} (commit testcases instead)"
        )
    try:
        checked = {"testcase_ids": [str(uuid.UUID(str(value))) for value in ids]}
    except ValueError as error:
        raise ValidationFailedError(f"testcase_ids: {error}") from error
    if columns:
        checked["columns"] = [str(column) for column in columns]
    return checked


TESTSETS = ArtifactKind(
    name="testset",
    domain="testsets",
    artifact=Testset,
    variant=TestsetVariant,
    revision=TestsetRevision,
    deployment=TestsetDeployment,
    validate_data=validate_revision_data,
)

# ---------------------------------------------------------------- the library interface


def _references(session: Session, project_id: uuid.UUID) -> References[Any, Any, Any, Any]:
    return References(session, TESTSETS, project_id)


def resolve_revision(
    session: Session, project_id: uuid.UUID, testset_ref: Reference | Mapping[str, Any]
) -> TestsetRevision:
    """The revision a reference names.

    `testset_ref` is either a mapping `{testset_ref?, testset_variant_ref?, testset_revision_ref?}` (each a
    Reference or its dict), resolved as the core resolves them (a revision, else the variant's latest, else
    the latest of the test set's default variant); or one Reference, tried as a revision, then a test set,
    then a variant (by id), or as a revision slug then a test set slug.
    """
    found: TestsetRevision = _references(session, project_id).loose(testset_ref)
    return found


def testcases_of(
    session: Session, project_id: uuid.UUID, testset_ref: Reference | Mapping[str, Any]
) -> tuple[uuid.UUID, list[Testcase]]:
    """The resolved test set revision's id and its test cases in order (see `resolve_revision` for the
    reference forms). Raises NotFoundError / ValidationFailedError for a reference that names nothing."""
    revision = resolve_revision(session, project_id, testset_ref)
    return revision.id, revision_testcases(session, revision)


# ---------------------------------------------------------------- views


def testset_view(testset: Testset) -> dict[str, Any]:
    return views.artifact_view(testset)


def variant_view(variant: TestsetVariant) -> dict[str, Any]:
    return views.variant_view(TESTSETS, variant)


def revision_view(
    session: Session, revision: TestsetRevision, *, with_testcases: bool = True
) -> dict[str, Any]:
    """Agenta's shape: `version` is a string; `data` lists the ids and (unless told not to) the cases."""
    view = views.revision_view(TESTSETS, revision)
    view["version"] = str(revision.version)
    data: dict[str, Any] = {"testcase_ids": list(revision.data.get("testcase_ids") or [])}
    if with_testcases:
        data["testcases"] = [
            testcase_view(case.id, case.data, revision.testset_id)
            for case in revision_testcases(session, revision)
        ]
    view["data"] = data
    return view


# ---------------------------------------------------------------- artifacts, variants, revisions


def create_testset(session: Session, principal: Principal, **fields: Any) -> Testset:
    return artifacts.create_artifact(session, TESTSETS, principal, **fields)


def get_testset(session: Session, principal: Principal, testset_id: uuid.UUID) -> Testset:
    return artifacts.get_artifact(session, TESTSETS, principal, testset_id)


def edit_testset(
    session: Session, principal: Principal, testset_id: uuid.UUID, edits: schemas.TestsetEdits
) -> Testset:
    if edits.id is not None and edits.id != testset_id:
        raise ValidationFailedError("testset.id does not match the id in the path")
    return artifacts.edit_artifact(session, TESTSETS, principal, testset_id, edits.header())


def create_variant(
    session: Session, principal: Principal, testset_id: uuid.UUID, **fields: Any
) -> TestsetVariant:
    return artifacts.create_variant(session, TESTSETS, principal, testset_id, **fields)


def commit_testcases(
    session: Session,
    principal: Principal,
    variant_id: uuid.UUID,
    *,
    testcases: Sequence[Mapping[str, Any]] | None = None,
    testcase_ids: Sequence[uuid.UUID] | None = None,
    message: str | None = None,
    slug: str | None = None,
    testset_id: uuid.UUID | None = None,
) -> TestsetRevision:
    """Version n+1 of the variant: the given cases (written as needed), or an existing list of case ids."""
    variant = artifacts.get_variant(session, TESTSETS, principal, variant_id)
    columns: list[str] = []
    if testcases is not None:
        ids = write_testcases(session, principal.project_id, variant.testset_id, testcases)
        seen: dict[str, None] = {}
        for case in testcases:
            seen.update(dict.fromkeys(case.get("data") or {}))
        columns = list(seen)
    else:
        ids = list(testcase_ids or [])
        check_testcases_belong(session, variant.testset_id, ids)
    return revisions.commit(
        session,
        TESTSETS,
        principal,
        variant.id,
        data={"testcase_ids": [str(i) for i in ids], "columns": columns},
        message=message,
        slug=slug,
        artifact_id=testset_id,
    )


def default_variant(session: Session, testset: Testset) -> TestsetVariant:
    found: TestsetVariant = _references(session, testset.project_id).default_variant(testset)
    return found


def latest_revision(session: Session, testset: Testset) -> TestsetRevision | None:
    """The default variant's latest revision, None when there is none yet."""
    try:
        references = _references(session, testset.project_id)
        found: TestsetRevision = references.latest_revision(references.default_variant(testset))
        return found
    except NotFoundError:
        return None


# ---------------------------------------------------------------- the routes' requests onto the core


def query_variants(
    session: Session, principal: Principal, body: schemas.VariantQuery
) -> Window[TestsetVariant]:
    criteria = body.testset_variant
    return artifacts.query_variants(
        session,
        TESTSETS,
        principal,
        artifact_refs=body.testset_refs or None,
        artifact_id=criteria.testset_id if criteria else None,
        slug=criteria.slug if criteria else None,
        include_archived=body.include_archived,
        windowing=body.windowing,
    )


def fork_variant(
    session: Session, principal: Principal, body: schemas.VariantFork
) -> tuple[TestsetVariant, TestsetRevision]:
    return revisions.fork(
        session,
        TESTSETS,
        principal,
        variant_ref=body.testset_variant_ref,
        revision_ref=body.testset_revision_ref,
        slug=body.testset_variant.slug,
        name=body.testset_variant.name,
        description=body.testset_variant.description,
        message=body.testset_revision.message if body.testset_revision else None,
    )


def commit_revision(
    session: Session, principal: Principal, fields: schemas.RevisionFields
) -> TestsetRevision:
    """Agenta's commit: to the named variant, else to the test set's default variant (made if missing)."""
    if fields.delta:
        raise ValidationFailedError("delta commits are not supported: send data.testcases")
    testset_id = fields.testset_id or fields.artifact_id
    variant_id = fields.testset_variant_id or fields.variant_id
    if variant_id is None:
        if testset_id is None:
            raise ValidationFailedError("name the variant (testset_variant_id) or the test set (testset_id)")
        testset = get_testset(session, principal, testset_id)
        try:
            variant_id = default_variant(session, testset).id
        except NotFoundError:
            variant_id = create_variant(session, principal, testset.id, slug="default").id
    data = fields.data or schemas.TestsetRevisionDataIn(testcases=[])
    cases = (
        [{"id": case.id, "data": case.data} for case in data.testcases]
        if data.testcases is not None
        else None
    )
    return commit_testcases(
        session,
        principal,
        variant_id,
        testcases=cases,
        testcase_ids=data.testcase_ids,
        message=fields.message,
        slug=fields.slug,
        testset_id=testset_id,
    )


def retrieve(
    session: Session, principal: Principal, body: schemas.RevisionRetrieve
) -> TestsetRevision | None:
    """The named revision; None for a variant with nothing committed yet (answered as `count: 0`)."""
    try:
        found: TestsetRevision = _references(session, principal.project_id).target(
            artifact_ref=body.testset_ref,
            variant_ref=body.testset_variant_ref,
            revision_ref=body.testset_revision_ref,
        )
        return found
    except NotFoundError:  # Agenta's SDK probes references this way
        return None


def get_revision(session: Session, principal: Principal, revision_id: uuid.UUID) -> TestsetRevision:
    return revisions.get_revision(session, TESTSETS, principal, revision_id)


def log_revisions(session: Session, principal: Principal, body: schemas.RevisionLog) -> list[TestsetRevision]:
    return revisions.log(
        session,
        TESTSETS,
        principal,
        artifact_ref=body.testset_ref,
        variant_ref=body.testset_variant_ref,
        revision_ref=body.testset_revision_ref,
        depth=body.depth,
    )


def query_revisions(
    session: Session, principal: Principal, body: schemas.RevisionQuery
) -> Window[TestsetRevision]:
    criteria = body.testset_revision
    return revisions.query_revisions(
        session,
        TESTSETS,
        principal,
        artifact_ref=body.testset_ref,
        variant_ref=body.testset_variant_ref,
        artifact_id=criteria.testset_id if criteria else None,
        variant_id=criteria.testset_variant_id if criteria else None,
        windowing=body.windowing,
    )
