"""Test sets end to end: the simple routes, revisions and stable test case ids, the library interface the
evaluation runs use, CSV/JSON upload (a malformed file names its row) and download, test sets from traces,
and a 10,000-row upload timed over HTTP."""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.integration.api_client import (
    Tenant,
    api_env,
    api_over_http,
    cognito_pool,
    make_tenant,
    own_events_queue,
)

__all__ = ["api_env", "cognito_pool", "make_tenant", "own_events_queue"]  # fixtures used by the tests below

# What "10,000 rows upload in seconds" means here, on a 2-core machine shared with other test runs.
TEN_THOUSAND_ROWS_BUDGET_S = 10.0


@pytest.fixture
def base_url(api_env: dict[str, str]) -> Iterator[str]:
    with api_over_http() as url:
        yield url


def http(tenant: Tenant, base_url: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers={"authorization": tenant.key_auth}, timeout=60)


def rows(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"question": f"What is {i} + {i}?", "correct_answer": str(2 * i)} for i in range(start, start + n)
    ]


def test_simple_testset_revisions_keep_unchanged_case_ids_and_feed_the_library_interface(
    make_tenant: Callable[..., Tenant],
) -> None:
    tenant = make_tenant()
    api = tenant.client
    # GIVEN a test set created with three cases, as Agenta's SDK creates one
    created = api.post(
        "/api/simple/testsets/",
        {
            "testset": {
                "slug": "arith-1",
                "name": "Arithmetic",
                "data": {"testcases": [{"data": r} for r in rows(3)]},
            }
        },
    ).ok()["testset"]
    first = created["data"]["testcases"]
    assert [case["data"] for case in first] == rows(3) and created["version"] == "1"
    # WHEN it is edited: the first two cases sent back with their ids, the third changed, a fourth added
    edited_rows = [
        first[0],
        first[1],
        {"id": first[2]["id"], "data": {"question": "changed", "correct_answer": "x"}},
    ]
    edited = api.put(
        f"/api/simple/testsets/{created['id']}",
        {
            "testset": {
                "id": created["id"],
                "name": "Arithmetic",
                "data": {"testcases": [*edited_rows, {"data": rows(1, 9)[0]}]},
            }
        },
    ).ok()["testset"]
    # THEN version 2 keeps the unchanged cases' ids, and the changed and new ones have new ids
    second = edited["data"]["testcases"]
    assert edited["version"] == "2"
    assert [c["id"] for c in second[:2]] == [c["id"] for c in first[:2]]
    assert second[2]["id"] != first[2]["id"] and second[2]["data"]["question"] == "changed"
    # AND the revision routes retrieve the latest (by test set) and the first (by revision id)
    latest = api.post("/api/testsets/revisions/retrieve", {"testset_ref": {"id": created["id"]}}).ok()
    assert latest["testset_revision"]["id"] == edited["revision_id"]
    assert len(latest["testset_revision"]["data"]["testcases"]) == 4
    v1 = api.post(
        "/api/testsets/revisions/retrieve", {"testset_revision_ref": {"id": created["revision_id"]}}
    ).ok()
    assert [c["data"] for c in v1["testset_revision"]["data"]["testcases"]] == rows(3)
    log = api.post("/api/testsets/revisions/log", {"testset_ref": {"id": created["id"]}}).ok()
    assert [r["version"] for r in log["testset_revisions"]] == ["2", "1"]
    # AND a reference that names nothing answers count 0 (Agenta's SDK probes this way)
    missing = api.post("/api/testsets/revisions/retrieve", {"testset_ref": {"id": str(uuid.uuid4())}}).ok()
    assert missing == {"count": 0}
    # AND the library interface resolves revision, test set and slug references to the cases in order
    from lamina.api.schemas import Reference
    from lamina.db.unit_of_work import unit_of_work
    from lamina.testsets.service import testcases_of

    project = uuid.UUID(tenant.project_id)
    with unit_of_work() as session:
        by_revision = testcases_of(session, project, Reference(id=uuid.UUID(created["revision_id"])))
        by_testset = testcases_of(session, project, Reference(id=uuid.UUID(created["id"])))
        by_slug = testcases_of(session, project, {"testset_ref": {"slug": "arith-1"}})
    assert by_revision[0] == uuid.UUID(created["revision_id"]) and [c.data for c in by_revision[1]] == rows(3)
    assert by_testset[0] == by_slug[0] == uuid.UUID(edited["revision_id"])
    assert [str(c.id) for c in by_testset[1]] == [c["id"] for c in second]
    # AND the test set is found by a part of its name, and archived it is gone from queries
    found = api.post("/api/simple/testsets/query", {"testset": {"name": "rithm"}}).ok()
    assert [t["id"] for t in found["testsets"]] == [created["id"]]
    api.post(f"/api/simple/testsets/{created['id']}/archive").ok()
    assert api.post("/api/simple/testsets/query", {}).ok()["count"] == 0
    # AND a test case is readable by id, and one revision's cases by revision
    case = api.get(f"/api/testcases/{second[3]['id']}").ok()["testcase"]
    assert case["data"] == rows(1, 9)[0]
    listed = api.post("/api/testcases/query", {"testset_revision_id": edited["revision_id"]}).ok()
    assert [c["id"] for c in listed["testcases"]] == [c["id"] for c in second]


def test_a_testset_from_selected_spans_takes_their_inputs_and_outputs(
    make_tenant: Callable[..., Tenant],
) -> None:
    tenant = make_tenant()
    # GIVEN two traced calls in the project's spans
    from lamina.db.unit_of_work import unit_of_work
    from lamina.tracing.models import Span

    now = datetime.now(UTC)
    spans = [
        ("a" * 32, "1" * 16, {"country": "France"}, "Paris"),
        ("b" * 32, "2" * 16, {"country": "Japan"}, {"city": "Tokyo"}),
    ]
    with unit_of_work() as session:
        for trace_id, span_id, inputs, outputs in spans:
            session.add(
                Span(
                    project_id=uuid.UUID(tenant.project_id),
                    trace_id=trace_id,
                    span_id=span_id,
                    trace_type="invocation",
                    span_type="task",
                    span_kind="SPAN_KIND_SERVER",
                    span_name="capital",
                    start_time=now,
                    end_time=now,
                    duration_ms=1.0,
                    status_code="STATUS_CODE_OK",
                    inputs=inputs,
                    outputs=outputs,
                    attributes={},
                    resource={},
                    events=[],
                    links=[],
                )
            )
    # WHEN a test set is made from them (the second first), then a span is appended to it
    selected = [{"trace_id": "b" * 32, "span_id": "2" * 16}, {"span_id": "1" * 16}]
    made = tenant.client.post(
        "/api/simple/testsets/from-traces", {"spans": selected, "testset": {"name": "capitals"}}
    ).ok()["testset"]
    appended = tenant.client.post(
        "/api/simple/testsets/from-traces", {"spans": [{"span_id": "1" * 16}], "testset_id": made["id"]}
    ).ok()["testset"]
    # THEN each case holds the span's inputs as columns and its outputs as the answer, in the order asked
    assert [c["data"] for c in made["data"]["testcases"]] == [
        {"country": "Japan", "correct_answer": {"city": "Tokyo"}},
        {"country": "France", "correct_answer": "Paris"},
    ]
    assert appended["version"] == "2" and len(appended["data"]["testcases"]) == 3
    # AND a span that is not there is a 404 naming it
    missing = tenant.client.post("/api/simple/testsets/from-traces", {"spans": [{"span_id": "f" * 16}]})
    assert missing.status == 404 and "f" * 16 in missing.body["message"]


def test_upload_refuses_a_malformed_file_naming_the_row_and_round_trips_csv_and_json(
    make_tenant: Callable[..., Tenant], base_url: str
) -> None:
    tenant = make_tenant()
    with http(tenant, base_url) as client:
        # GIVEN CSV and JSON files with one bad row each
        bad_csv = b"question,correct_answer\nq1,a1\nq2,a2\nq3,a3,extra\n"
        bad_json = json.dumps([{"question": "q1"}, ["not", "an", "object"]]).encode()
        # WHEN they are uploaded
        refused_csv = client.post(
            "/api/simple/testsets/upload", files={"file": ("bad.csv", bad_csv, "text/csv")}
        )
        refused_json = client.post(
            "/api/simple/testsets/upload", files={"file": ("bad.json", bad_json, "application/json")}
        )
        # THEN each is a 400 that names the row
        assert refused_csv.status_code == 400, refused_csv.text
        assert "row 3 (line 4) has 3 fields; the header has 2" in refused_csv.json()["message"]
        assert refused_json.status_code == 400 and "row 2 is not an object" in refused_json.json()["message"]
        # AND nothing was created
        assert client.post("/api/simple/testsets/query", json={}).json()["count"] == 0

        # GIVEN a CSV file with quoting, commas and newlines inside cells
        table = [{"question": 'He said "hi", then left', "context": "line 1\nline 2", "correct_answer": "ok"}]
        table += [{"question": f"q{i}", "context": "", "correct_answer": f"a{i}"} for i in range(3)]
        out = io.StringIO(newline="")
        writer = csv.DictWriter(
            out, fieldnames=["question", "context", "correct_answer"], lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(table)
        original = out.getvalue().encode()
        # WHEN it is uploaded (Agenta's multipart form) and downloaded as CSV and as JSON
        uploaded = client.post(
            "/api/simple/testsets/upload",
            files={"file": ("qa.csv", original, "text/csv")},
            data={"file_type": "csv", "testset_name": "QA"},
        )
        assert uploaded.status_code == 200, uploaded.text
        testset_id = uploaded.json()["testset"]["id"]
        as_csv = client.get(f"/api/simple/testsets/{testset_id}/download", params={"format": "csv"})
        as_json = client.get(f"/api/simple/testsets/{testset_id}/download", params={"format": "json"})
        # THEN the CSV comes back byte for byte, and the JSON holds the same rows
        assert as_csv.headers["content-type"].startswith("text/csv")
        assert as_csv.content == original
        assert as_json.json() == table
        # AND the JSON download uploaded again (raw body, ?file_type=json) makes a test set with those rows
        again = client.post(
            "/api/simple/testsets/upload",
            content=as_json.content,
            params={"file_type": "json", "testset_name": "QA copy"},
            headers={"content-type": "application/json"},
        )
        assert again.status_code == 200, again.text
        copy_id = again.json()["testset"]["id"]
        assert (
            client.get(f"/api/simple/testsets/{copy_id}/download", params={"format": "json"}).json() == table
        )


def test_ten_thousand_rows_upload_in_seconds(make_tenant: Callable[..., Tenant], base_url: str) -> None:
    tenant = make_tenant()
    # GIVEN a 10,000-row CSV file
    table = rows(10_000)
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=["question", "correct_answer"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    with http(tenant, base_url) as client:
        # WHEN it is uploaded over HTTP
        started = time.perf_counter()
        answer = client.post(
            "/api/simple/testsets/upload", files={"file": ("big.csv", out.getvalue(), "text/csv")}
        )
        upload_s = time.perf_counter() - started
        assert answer.status_code == 200, answer.text
        # THEN it took seconds, and its revision lists the 10,000 cases in order
        testset_id = answer.json()["testset"]["id"]
        started = time.perf_counter()
        revision = client.post(
            "/api/testsets/revisions/retrieve", json={"testset_ref": {"id": testset_id}}
        ).json()["testset_revision"]
        retrieve_s = time.perf_counter() - started
    print(f"\n10,000-row CSV upload: {upload_s:.2f} s; retrieve with cases: {retrieve_s:.2f} s")
    assert upload_s < TEN_THOUSAND_ROWS_BUDGET_S
    cases = revision["data"]["testcases"]
    assert (
        len(cases) == 10_000
        and [c["data"] for c in cases[:2]] == table[:2]
        and cases[-1]["data"] == table[-1]
    )
