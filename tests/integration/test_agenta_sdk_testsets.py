"""Agenta's own SDK (unmodified, in .venv-agenta) against Lamina's test sets and evaluators over real HTTP:
`ag.testsets` (acreate, afetch, aupsert, alist, aretrieve) and the evaluators manager (aupsert, aretrieve)."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.integration.api_client import (
    Tenant,
    api_env,
    api_over_http,
    cognito_pool,
    make_tenant,
    own_events_queue,
)
from tests.integration.test_agenta_sdk import SDK_ENV, SDK_PYTHON
from tests.support import ROOT

__all__ = ["api_env", "cognito_pool", "make_tenant", "own_events_queue"]  # fixtures used by the tests below

SCENARIO = ROOT / "tests" / "integration" / "agenta_sdk_testsets_scenario.py"
SCENARIO_TIMEOUT_S = 240
ROWS_V1 = [{"country": "France", "correct_answer": "Paris"}, {"country": "Japan", "correct_answer": "Tokyo"}]
ROWS_V2 = [*ROWS_V1, {"country": "Peru", "correct_answer": "Lima"}]


@pytest.fixture
def lamina_http(api_env: dict[str, str]) -> Iterator[str]:
    with api_over_http() as url:
        yield url


def run_scenario(host: str, api_key: str, prefix: str) -> dict[str, Any]:
    if not SDK_PYTHON.exists():
        pytest.fail(f"{SDK_PYTHON} is missing: run scripts/bootstrap (it runs scripts/agenta-venv)")
    env = {name: value for name, value in os.environ.items() if not name.upper().endswith("_PROXY")}
    completed = subprocess.run(
        [str(SDK_PYTHON), str(SCENARIO), host, api_key, prefix],
        env={**env, **SDK_ENV},
        capture_output=True,
        text=True,
        timeout=SCENARIO_TIMEOUT_S,
        cwd=ROOT,
    )
    assert completed.returncode == 0, completed.stderr[-5000:]
    report: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    failed = {name: step["error"] for name, step in report["steps"].items() if not step["ok"]}
    assert not failed, json.dumps(failed, indent=2) + "\n" + completed.stderr[-5000:]
    return report


def rows_of(revision: dict[str, Any]) -> list[dict[str, Any]]:
    return [case["data"] for case in revision["data"]["testcases"]]


def test_agenta_sdk_testsets_and_evaluators_against_lamina(
    make_tenant: Callable[..., Tenant], lamina_http: str
) -> None:
    # GIVEN a tenant's API key and Lamina's API on a loopback port
    tenant = make_tenant()
    prefix = f"sdk-{uuid.uuid4().hex[:6]}"
    # WHEN Agenta's SDK creates, fetches, upserts, lists and retrieves test sets, and upserts and retrieves a
    # built-in and a custom evaluator
    report = run_scenario(lamina_http, tenant.api_key, prefix)
    steps = {name: step["value"] for name, step in report["steps"].items()}
    # THEN it never tried to reach anything off loopback
    assert report["off_loopback"] == []
    # AND the test set came back as revisions with its rows, upsert found it by name and committed version 2
    created, upserted = steps["testset_create"], steps["testset_upsert"]
    assert rows_of(created) == ROWS_V1 and created["version"] == "1"
    assert rows_of(steps["testset_fetch"]) == ROWS_V1
    assert upserted["testset_id"] == created["testset_id"] and rows_of(upserted) == ROWS_V2
    assert (
        rows_of(steps["testset_retrieve_latest"]) == ROWS_V2
        and steps["testset_retrieve_latest"]["version"] == "2"
    )
    assert rows_of(steps["testset_retrieve_v1"]) == ROWS_V1
    listed = {revision["testset_id"]: rows_of(revision) for revision in steps["testset_list"]}
    assert listed == {created["testset_id"]: ROWS_V2}
    # AND the built-in evaluator is stored with its kind and settings, a second upsert committing version 2
    builtin = steps["evaluator_retrieve_builtin"]
    assert builtin["data"]["uri"] == "auto_exact_match"  # the SDK stores the bare key
    assert builtin["data"]["parameters"] == {"correct_answer_key": "correct_answer"}
    again = steps["evaluator_retrieve_builtin_again"]
    assert again["evaluator_id"] == builtin["evaluator_id"] and again["version"] == "2"
    assert again["data"]["parameters"] == {"correct_answer_key": "answer"}
    assert steps["evaluator_retrieve_custom"]["id"] == steps["evaluator_upsert_custom"]
    # AND the evaluation runs' library interface reads the built-in one back as a runnable kind
    from lamina.api.schemas import Reference
    from lamina.db.unit_of_work import unit_of_work
    from lamina.evaluators.runtime import evaluate
    from lamina.evaluators.service import evaluator_of

    with unit_of_work() as session:
        config = evaluator_of(session, uuid.UUID(tenant.project_id), Reference(id=uuid.UUID(again["id"])))
        custom = evaluator_of(
            session, uuid.UUID(tenant.project_id), Reference(id=uuid.UUID(steps["evaluator_upsert_custom"]))
        )
    assert (config.kind, config.settings) == ("auto_exact_match", {"correct_answer_key": "answer"})
    assert evaluate(
        config.kind, config.settings, inputs={}, outputs="Lima", testcase={"answer": "Lima"}
    ).outputs == {"success": True}
    assert custom.kind == "custom"
