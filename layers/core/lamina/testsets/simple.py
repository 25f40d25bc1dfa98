"""Simple (flat) test sets: a test set, its own variant and that variant's latest revision as one object.

What `/api/simple/testsets/...` does on top of the core: create the variant and first revision with the test
set, commit new cases to the default variant, flatten the latest revision into the view; and the ways in
besides JSON bodies: a CSV or JSON file, or selected spans of traces.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from lamina.artifacts import service as artifacts
from lamina.artifacts.latest import latest_revisions
from lamina.errors import NotFoundError, ValidationFailedError
from lamina.tenancy.principal import Principal
from lamina.testsets import schemas
from lamina.testsets.models import Testset, TestsetRevision
from lamina.testsets.service import (
    TESTSETS,
    commit_testcases,
    default_variant,
    get_testset,
    latest_revision,
    revision_view,
    testset_view,
)
from lamina.testsets.testcases import revision_testcases

INITIAL_MESSAGE = "initial"
SLUG_SUFFIX_BYTES = 6
DEFAULT_VARIANT_SLUG = "default"


def slug_from_name(name: str | None) -> str:
    """`<name as a slug>-<random hex>`, as Agenta's SDK builds slugs."""
    import re

    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", (name or "testset")).strip("-.")[:180] or "testset"
    return f"{base.lower()}-{secrets.token_hex(SLUG_SUFFIX_BYTES)}"


def _cases(data: schemas.TestsetRevisionDataIn | None) -> list[dict[str, Any]]:
    if data is None or data.testcases is None:
        return []
    return [{"id": case.id, "data": case.data} for case in data.testcases]


def create(
    session: Session,
    principal: Principal,
    fields: schemas.SimpleTestsetFields,
    *,
    rows: Sequence[dict[str, Any]] | None = None,
) -> Testset:
    """A test set with its default variant and a first revision of the given cases (or `rows`)."""
    testset = artifacts.create_artifact(
        session,
        TESTSETS,
        principal,
        slug=fields.slug or slug_from_name(fields.name),
        name=fields.name,
        description=fields.description,
        flags=fields.flags,
        tags=fields.tags,
        meta=fields.meta,
    )
    variant = artifacts.create_variant(session, TESTSETS, principal, testset.id, slug=DEFAULT_VARIANT_SLUG)
    cases = [{"data": row} for row in rows] if rows is not None else _cases(fields.data)
    if fields.data is not None and fields.data.testcase_ids and rows is None:
        raise ValidationFailedError("a new test set has no cases to name by id: send testcases")
    commit_testcases(
        session, principal, variant.id, testcases=cases, message=fields.message or INITIAL_MESSAGE
    )
    return testset


def commit_to_default(
    session: Session,
    principal: Principal,
    testset: Testset,
    *,
    cases: Sequence[dict[str, Any]] | None = None,
    testcase_ids: Sequence[uuid.UUID] | None = None,
    message: str | None = None,
) -> None:
    """The next revision of the test set's default variant (made if the test set has none yet)."""
    try:
        variant = default_variant(session, testset)
    except NotFoundError:
        variant = artifacts.create_variant(
            session, TESTSETS, principal, testset.id, slug=DEFAULT_VARIANT_SLUG
        )
    commit_testcases(
        session, principal, variant.id, testcases=cases, testcase_ids=testcase_ids, message=message
    )


def edit(
    session: Session, principal: Principal, testset_id: uuid.UUID, edits: schemas.SimpleTestsetEdits
) -> Testset:
    """Edit the header; new `data` is committed as the next revision of the default variant."""
    if edits.id is not None and edits.id != testset_id:
        raise ValidationFailedError("testset.id does not match the id in the path")
    testset = artifacts.edit_artifact(session, TESTSETS, principal, testset_id, edits.header())
    if edits.data is not None:
        if edits.data.testcases is not None:
            commit_to_default(session, principal, testset, cases=_cases(edits.data), message=edits.message)
        else:
            commit_to_default(
                session, principal, testset, testcase_ids=edits.data.testcase_ids or [], message=edits.message
            )
    return testset


def view(
    session: Session,
    testset: Testset,
    *,
    with_testcases: bool = True,
    revision: TestsetRevision | Literal[False] | None = False,
) -> dict[str, Any]:
    """The header with the default variant's latest revision flattened in (`revision` when the caller
    already looked it up, as `views` does for a page)."""
    header = testset_view(testset)
    if revision is False:
        revision = latest_revision(session, testset)
    if revision is None:
        return {**header, "variant_id": None, "revision_id": None, "version": None, "data": None}
    flat = revision_view(session, revision, with_testcases=with_testcases)
    return {
        **header,
        "variant_id": flat["variant_id"],
        "revision_id": flat["id"],
        "version": flat["version"],
        "data": flat["data"],
    }


def views(session: Session, testsets: Sequence[Testset]) -> list[dict[str, Any]]:
    """A page of test sets, without their cases: two queries for their latest revisions, not two per item."""
    latest = latest_revisions(session, TESTSETS, [t.id for t in testsets])
    return [view(session, t, with_testcases=False, revision=latest.get(t.id)) for t in testsets]


def rows_of(session: Session, principal: Principal, testset_id: uuid.UUID) -> list[dict[str, Any]]:
    """The latest revision's rows (for a download)."""
    testset = get_testset(session, principal, testset_id)
    revision = latest_revision(session, testset)
    if revision is None:
        return []
    return [case.data for case in revision_testcases(session, revision)]


# ---------------------------------------------------------------- from traces


def _span_row(inputs: Any, outputs: Any, outputs_column: str) -> dict[str, Any]:
    row = dict(inputs) if isinstance(inputs, dict) else ({"inputs": inputs} if inputs is not None else {})
    if outputs is not None:
        row[outputs_column] = outputs
    return row


def rows_from_spans(
    session: Session, principal: Principal, spans: Sequence[schemas.SpanRef], outputs_column: str
) -> list[dict[str, Any]]:
    """One row per span, in the order asked: its inputs as columns, its outputs under `outputs_column`."""
    from lamina.tracing.models import Span

    wanted = [(span.trace_id.lower() if span.trace_id else None, span.span_id.lower()) for span in spans]
    span_ids = sorted({span_id for _, span_id in wanted})
    found: dict[tuple[str, str], Span] = {}
    by_span: dict[str, Span] = {}
    # Bounded chunks: one bind parameter per id, far below Postgres' 65,535 per statement.
    for start in range(0, len(span_ids), 1000):
        chunk = span_ids[start : start + 1000]
        rows = session.execute(
            select(Span).where(Span.project_id == principal.project_id, Span.span_id.in_(chunk))
        ).scalars()
        for span in rows:
            found[(span.trace_id, span.span_id)] = span
            by_span.setdefault(span.span_id, span)
    result = []
    for trace_id, span_id in wanted:
        match = found.get((trace_id, span_id)) if trace_id else by_span.get(span_id)
        if match is None:
            raise NotFoundError(f"span {span_id} not found" + (f" in trace {trace_id}" if trace_id else ""))
        result.append(_span_row(match.inputs, match.outputs, outputs_column))
    return result


def from_traces(session: Session, principal: Principal, body: schemas.TestsetFromTraces) -> Testset:
    """A new test set (or the next revision of `testset_id`, cases appended) from the spans' inputs/outputs."""
    rows = rows_from_spans(session, principal, body.spans, body.outputs_column)
    if body.testset_id is None:
        fields = body.testset or schemas.SimpleTestsetFields(name="from traces")
        return create(session, principal, fields, rows=rows)
    testset = get_testset(session, principal, body.testset_id)
    current = latest_revision(session, testset)
    kept = [{"id": c.id, "data": c.data} for c in revision_testcases(session, current)] if current else []
    commit_to_default(
        session,
        principal,
        testset,
        cases=[*kept, *({"data": row} for row in rows)],
        message=f"added {len(rows)} test cases from traces",
    )
    return testset
