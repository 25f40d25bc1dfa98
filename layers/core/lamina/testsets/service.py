"""Test sets as a kind of revisioned artifact (see `lamina.artifacts`), and their test cases.

A revision's `data` is `{"testcase_ids": [...]}`; committing test cases first bulk-inserts the new ones (one
statement whatever their number: the rows travel as one JSON parameter, never one bind parameter per value),
then commits the id list. A case given back unchanged with its id keeps its row, so unchanged cases keep
their ids across revisions (what comparing evaluation runs joins on).

The library interface the evaluation runs use: `testcases_of`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from lamina.api.schemas import Reference, Windowing
from lamina.artifacts import revisions, views
from lamina.artifacts import service as artifacts
from lamina.artifacts.kind import ArtifactKind
from lamina.artifacts.references import References
from lamina.artifacts.windowing import Window, fetch_window
from lamina.errors import NotFoundError, ValidationFailedError
from lamina.ids import uuid7
from lamina.tenancy.principal import Principal
from lamina.testsets.models import Testset, TestsetDeployment, TestsetRevision, TestsetVariant

# How many test cases one revision may hold (a 10,000-row upload is the documented common case).
MAX_TESTCASES = 100_000


@dataclass(frozen=True)
class Testcase:
    """One test case: its id (stable across revisions while unchanged) and its row of data."""

    id: uuid.UUID
    data: dict[str, Any]


def validate_revision_data(data: dict[str, Any]) -> dict[str, Any]:
    """A test set revision stores the ordered ids of its cases, nothing else."""
    ids = data.get("testcase_ids")
    if set(data) - {"testcase_ids"} or not isinstance(ids, list):
        raise ValidationFailedError(
            "test set revision data is {testcase_ids: [...]} (commit testcases instead)"
        )
    try:
        return {"testcase_ids": [str(uuid.UUID(str(value))) for value in ids]}
    except ValueError as error:
        raise ValidationFailedError(f"testcase_ids: {error}") from error


TESTSETS = ArtifactKind(
    name="testset",
    domain="testsets",
    artifact=Testset,
    variant=TestsetVariant,
    revision=TestsetRevision,
    deployment=TestsetDeployment,
    validate_data=validate_revision_data,
)

# ---------------------------------------------------------------- test cases

_INSERT_TESTCASES = text(
    "INSERT INTO testcases (id, project_id, testset_id, data) "
    "SELECT CAST(item->>'id' AS uuid), :project_id, :testset_id, item->'data' "
    "FROM jsonb_array_elements(CAST(:rows AS jsonb)) AS item"
)
_EXISTING_TESTCASES = text(
    "SELECT t.id, t.data FROM testcases t "
    "JOIN jsonb_array_elements_text(CAST(:ids AS jsonb)) AS given(id) ON t.id = CAST(given.id AS uuid) "
    "WHERE t.testset_id = :testset_id"
)
_REVISION_TESTCASES = text(
    "SELECT t.id, t.data FROM testset_revisions r "
    "CROSS JOIN LATERAL jsonb_array_elements_text(r.data->'testcase_ids') WITH ORDINALITY AS listed(id, n) "
    "JOIN testcases t ON t.id = CAST(listed.id AS uuid) "
    "WHERE r.id = :revision_id AND r.project_id = :project_id ORDER BY listed.n"
)


def _as_uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def write_testcases(
    session: Session, project_id: uuid.UUID, testset_id: uuid.UUID, cases: Sequence[Mapping[str, Any]]
) -> list[uuid.UUID]:
    """The ids of `cases` (`{id?, data}` each) in order: an unchanged case keeps its id, the others are
    bulk-inserted as new rows in one statement."""
    if len(cases) > MAX_TESTCASES:
        raise ValidationFailedError(f"a test set holds at most {MAX_TESTCASES} test cases")
    given = [_as_uuid(case.get("id")) for case in cases]
    existing: dict[uuid.UUID, Any] = {}
    if any(given):
        rows = session.execute(
            _EXISTING_TESTCASES,
            {"ids": json.dumps([str(i) for i in given if i]), "testset_id": testset_id},
        )
        existing = {row.id: row.data for row in rows}
    ids: list[uuid.UUID] = []
    new: list[dict[str, Any]] = []
    for case, case_id in zip(cases, given, strict=True):
        data = case.get("data")
        if not isinstance(data, dict):
            raise ValidationFailedError(f"testcase {len(ids) + 1}: data must be an object")
        if case_id is not None and case_id in existing and existing[case_id] == data:
            ids.append(case_id)
            continue
        new_id = uuid7()
        ids.append(new_id)
        new.append({"id": str(new_id), "data": data})
    if new:
        session.execute(
            _INSERT_TESTCASES, {"rows": json.dumps(new), "project_id": project_id, "testset_id": testset_id}
        )
    return ids


def revision_testcases(session: Session, revision: TestsetRevision) -> list[Testcase]:
    """A revision's test cases, in order (one query)."""
    rows = session.execute(
        _REVISION_TESTCASES, {"revision_id": revision.id, "project_id": revision.project_id}
    )
    return [Testcase(id=row.id, data=row.data) for row in rows]


def get_testcase(session: Session, principal: Principal, testcase_id: uuid.UUID) -> dict[str, Any]:
    from lamina.testsets.models import TestcaseRow

    row = session.execute(
        select(TestcaseRow).where(
            TestcaseRow.id == testcase_id, TestcaseRow.project_id == principal.project_id
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFoundError(f"testcase {testcase_id} not found")
    return testcase_view(row.id, row.data, row.testset_id)


def query_testcases(
    session: Session,
    principal: Principal,
    *,
    testcase_ids: list[uuid.UUID] | None,
    testset_id: uuid.UUID | None,
    windowing: Windowing | None,
) -> Window[Any]:
    from lamina.testsets.models import TestcaseRow

    query = select(TestcaseRow).where(TestcaseRow.project_id == principal.project_id)
    if testcase_ids:
        query = query.where(TestcaseRow.id.in_(testcase_ids))
    if testset_id is not None:
        query = query.where(TestcaseRow.testset_id == testset_id)
    return fetch_window(session, query, TestcaseRow.id, windowing)


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
    references = _references(session, project_id)
    if isinstance(testset_ref, Mapping):

        def ref(key: str) -> Reference | None:
            value = testset_ref.get(key)
            return Reference.model_validate(value) if isinstance(value, dict) else value

        found: TestsetRevision = references.target(
            artifact_ref=ref("testset_ref"),
            variant_ref=ref("testset_variant_ref"),
            revision_ref=ref("testset_revision_ref"),
        )
        return found
    if testset_ref.id is not None:
        ref_id = testset_ref.id
        candidates: list[Callable[[], TestsetRevision]] = [
            lambda: references.revision_by_id(ref_id),
            lambda: references.latest_revision(references.default_variant(references.artifact_by_id(ref_id))),
            lambda: references.latest_revision(references.variant_by_id(ref_id)),
        ]
        for resolve in candidates:
            try:
                revision: TestsetRevision = resolve()
                return revision
            except NotFoundError:
                continue
        raise NotFoundError(f"testset {ref_id} not found")
    if testset_ref.slug is not None:
        try:
            by_slug: TestsetRevision = references.revision(testset_ref)
            return by_slug
        except NotFoundError:
            latest: TestsetRevision = references.target(
                artifact_ref=testset_ref, variant_ref=None, revision_ref=None
            )
            return latest
    raise ValidationFailedError("a testset reference needs an id or a slug")


def testcases_of(
    session: Session, project_id: uuid.UUID, testset_ref: Reference | Mapping[str, Any]
) -> tuple[uuid.UUID, list[Testcase]]:
    """The resolved test set revision's id and its test cases in order (see `resolve_revision` for the
    reference forms). Raises NotFoundError / ValidationFailedError for a reference that names nothing."""
    revision = resolve_revision(session, project_id, testset_ref)
    return revision.id, revision_testcases(session, revision)


# ---------------------------------------------------------------- views


def testcase_view(testcase_id: uuid.UUID, data: Any, testset_id: uuid.UUID) -> dict[str, Any]:
    return {"id": str(testcase_id), "testset_id": str(testset_id), "data": data}


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
    session: Session, principal: Principal, testset_id: uuid.UUID, edits: Mapping[str, Any]
) -> Testset:
    return artifacts.edit_artifact(session, TESTSETS, principal, testset_id, edits)


def set_testset_archived(
    session: Session, principal: Principal, testset_id: uuid.UUID, *, archived: bool
) -> Testset:
    return artifacts.set_artifact_archived(session, TESTSETS, principal, testset_id, archived=archived)


def query_testsets(
    session: Session,
    principal: Principal,
    *,
    name: str | None = None,
    slug: str | None = None,
    flags: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    refs: list[Reference] | None = None,
    include_archived: bool = False,
    windowing: Windowing | None = None,
) -> Window[Testset]:
    """Test sets of the project; `name` matches as a case-insensitive substring (as Agenta's query does)."""
    query = select(Testset).where(Testset.project_id == principal.project_id)
    if not include_archived:
        query = query.where(Testset.archived_at.is_(None))
    if name:
        escaped = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Testset.name.ilike(f"%{escaped}%", escape="\\"))
    if slug is not None:
        query = query.where(Testset.slug == slug)
    if flags:
        query = query.where(Testset.flags.contains(flags))
    if tags:
        query = query.where(Testset.tags.contains(tags))
    if refs:
        ids = [ref.id for ref in refs if ref.id]
        slugs = [ref.slug for ref in refs if ref.slug]
        query = query.where(Testset.id.in_(ids) | Testset.slug.in_(slugs))
    return fetch_window(session, query, Testset.id, windowing)


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
    if testcases is not None:
        ids = write_testcases(session, principal.project_id, variant.testset_id, testcases)
    else:
        ids = list(testcase_ids or [])
        _check_testcases_belong(session, variant.testset_id, ids)
    return revisions.commit(
        session,
        TESTSETS,
        principal,
        variant.id,
        data={"testcase_ids": [str(i) for i in ids]},
        message=message,
        slug=slug,
        artifact_id=testset_id,
    )


def _check_testcases_belong(session: Session, testset_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> None:
    if not ids:
        return
    found = {
        row.id
        for row in session.execute(
            _EXISTING_TESTCASES, {"ids": json.dumps([str(i) for i in ids]), "testset_id": testset_id}
        )
    }
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise NotFoundError(f"testcase {missing[0]} not found in this test set")


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
