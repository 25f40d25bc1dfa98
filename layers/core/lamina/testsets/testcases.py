"""Test cases: immutable rows that test set revisions list by id, written in bulk.

Writing N cases is one INSERT whatever N: the rows travel as one JSON parameter expanded by
`jsonb_array_elements` in Postgres, never one bind parameter per value (Postgres allows 65,535 per
statement). A revision's cases are read back in order by one query over its `testcase_ids`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from lamina.api.schemas import Windowing
from lamina.artifacts.windowing import Window, fetch_window
from lamina.errors import NotFoundError, ValidationFailedError
from lamina.ids import uuid7
from lamina.tenancy.principal import Principal
from lamina.testsets.models import TestcaseRow, TestsetRevision

# How many test cases one revision may hold (a 10,000-row upload is the documented common case).
MAX_TESTCASES = 100_000


@dataclass(frozen=True)
class Testcase:
    """One test case: its id (stable across revisions while unchanged) and its row of data."""

    id: uuid.UUID
    data: dict[str, Any]


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
    columns = revision.data.get("columns") or []
    if not columns:
        return [Testcase(id=row.id, data=row.data) for row in rows]
    return [Testcase(id=row.id, data=in_column_order(row.data, columns)) for row in rows]


def in_column_order(data: dict[str, Any], columns: list[str]) -> dict[str, Any]:
    """The row's keys in the revision's column order (JSONB stores objects with its own key order)."""
    ordered = {column: data[column] for column in columns if column in data}
    ordered.update(data)
    return ordered


def get_testcase(session: Session, principal: Principal, testcase_id: uuid.UUID) -> dict[str, Any]:
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
    query = select(TestcaseRow).where(TestcaseRow.project_id == principal.project_id)
    if testcase_ids:
        query = query.where(TestcaseRow.id.in_(testcase_ids))
    if testset_id is not None:
        query = query.where(TestcaseRow.testset_id == testset_id)
    return fetch_window(session, query, TestcaseRow.id, windowing)


def testcase_view(testcase_id: uuid.UUID, data: Any, testset_id: uuid.UUID) -> dict[str, Any]:
    return {"id": str(testcase_id), "testset_id": str(testset_id), "data": data}


def check_testcases_belong(session: Session, testset_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> None:
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
