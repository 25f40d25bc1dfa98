"""Agenta's SDK evaluation helpers (runs, scenarios, results, metrics: the loop `aevaluate` runs) against
Lamina over HTTP, with the real `agenta` package in its own venv (see test_agenta_sdk.py)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.api_client import Tenant, api_env, cognito_pool, make_tenant, own_events_queue
from tests.integration.test_agenta_sdk import SCENARIO_TIMEOUT_S, SDK_ENV, SDK_PYTHON, lamina_http
from tests.support import ROOT

__all__ = ["api_env", "cognito_pool", "lamina_http", "make_tenant", "own_events_queue"]

SCENARIO = ROOT / "tests" / "integration" / "agenta_sdk_evaluations_scenario.py"


def run_sdk(host: str, api_key: str) -> dict[str, Any]:
    if not SDK_PYTHON.exists():
        pytest.fail(f"{SDK_PYTHON} is missing: run scripts/bootstrap (it runs scripts/agenta-venv)")
    env = {name: value for name, value in os.environ.items() if not name.upper().endswith("_PROXY")}
    completed = subprocess.run(
        [str(SDK_PYTHON), str(SCENARIO), host, api_key],
        env={**env, **SDK_ENV},
        capture_output=True,
        text=True,
        timeout=SCENARIO_TIMEOUT_S,
        cwd=ROOT,
    )
    assert completed.returncode == 0, completed.stderr[-5000:]
    report: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    failed = {name: step["error"] for name, step in report["steps"].items() if not step["ok"]}
    assert not failed, json.dumps(failed, indent=2) + "\n" + completed.stderr[-3000:]
    return report


def test_the_sdk_evaluation_loop_writes_and_reads_a_run(
    make_tenant: Callable[..., Tenant], lamina_http: str
) -> None:
    # GIVEN a tenant's API key and Lamina's API on a loopback port
    tenant = make_tenant()

    # WHEN Agenta's SDK runs the evaluation loop its `aevaluate` runs (a run it drives itself)
    report = run_sdk(lamina_http, tenant.api_key)
    steps = {name: step["value"] for name, step in report["steps"].items()}

    # THEN the run was created running (no worker involved), its scenarios minted in order, the cells written
    assert report["off_loopback"] == []
    run_id = steps["runs.acreate"]["id"]
    assert len(steps["scenarios.aadd"]) == 2 and all(s["run_id"] == run_id for s in steps["scenarios.aadd"])
    assert len(steps["results.apopulate"]) == 4
    assert steps["results.acreate"]["step_key"] == "application"
    assert steps["scenarios.aedit_scenario.1"]["status"] == "errors"
    # AND the metrics aggregate the cells: the run's own row, and one per scenario with results
    headline = steps["metrics.aquery_global"]
    assert headline["scenario_id"] is None
    assert headline["data"]["application"]["success"] == {
        "type": "binary",
        "count": 3,
        "true": 3,
        "rate": 1.0,
    }
    assert headline["data"]["evaluator"]["error"]["true"] == 1
    assert len(steps["metrics.aquery_variational"]) == 3
    # AND the closed run keeps the SDK's final status and refuses further edits (the SDK skips them)
    fetched = tenant.client.get(f"/api/evaluations/runs/{run_id}").ok()["run"]
    assert fetched["status"] == "errors" and fetched["flags"]["is_closed"] is True
    assert steps["scenarios.aedit_scenario.closed"] is None
