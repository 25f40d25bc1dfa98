"""Agenta's own Python SDK (`agenta` from PyPI, unmodified, in .venv-agenta) against Lamina's API over real HTTP.

The API app is served by uvicorn on a loopback port of this process; the SDK runs in its own interpreter
(tests/integration/agenta_sdk_scenario.py), which refuses every connection off loopback and reports any attempt.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.integration.agenta_sdk_scenario import PROMPT_V1, PROMPT_V2
from tests.integration.api_client import (
    Tenant,
    api_env,
    api_over_http,
    cognito_pool,
    make_tenant,
    own_events_queue,
)
from tests.support import ROOT

__all__ = ["api_env", "cognito_pool", "make_tenant", "own_events_queue"]  # fixtures used by the tests below

SDK_PYTHON = ROOT / ".venv-agenta" / "bin" / "python"
SCENARIO = ROOT / "tests" / "integration" / "agenta_sdk_scenario.py"
SCENARIO_TIMEOUT_S = 240
# Each manager call is made with the sync method, then (on another application) with its async twin.
MODES = ("sync", "async")
# The SDK's environment: no telemetry, no proxy, LiteLLM's bundled cost map instead of a download at import.
SDK_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_TELEMETRY": "False",
    "AGENTA_LOG_CONSOLE_LEVEL": "WARNING",
    "NO_PROXY": "*",
}


@pytest.fixture
def lamina_http(api_env: dict[str, str]) -> Iterator[str]:
    """Lamina's API app served over HTTP on loopback."""
    with api_over_http() as url:
        yield url


def run_scenario(host: str, api_key: str, prefix: str) -> dict[str, Any]:
    """Every mode's steps, in one SDK process; fails with every failed step's error."""
    if not SDK_PYTHON.exists():
        pytest.fail(f"{SDK_PYTHON} is missing: run scripts/bootstrap (it runs scripts/agenta-venv)")
    env = {name: value for name, value in os.environ.items() if not name.upper().endswith("_PROXY")}
    completed = subprocess.run(
        [str(SDK_PYTHON), str(SCENARIO), host, api_key, prefix, *MODES],
        env={**env, **SDK_ENV},
        capture_output=True,
        text=True,
        timeout=SCENARIO_TIMEOUT_S,
        cwd=ROOT,
    )
    assert completed.returncode == 0, completed.stderr[-5000:]
    lines = completed.stdout.strip().splitlines()
    assert lines, completed.stderr[-5000:]
    report: dict[str, Any] = json.loads(lines[-1])
    failed = {
        f"{mode}: {name}": step["error"]
        for mode, steps in report["modes"].items()
        for name, step in steps.items()
        if not step["ok"]
    }
    assert not failed, json.dumps(failed, indent=2) + "\n" + completed.stderr[-5000:]
    return report


def test_agenta_sdk_managers_against_lamina(make_tenant: Callable[..., Tenant], lamina_http: str) -> None:
    # GIVEN a tenant's API key and Lamina's API on a loopback port
    tenant = make_tenant()
    prefix = f"sdk-{uuid.uuid4().hex[:6]}"
    # WHEN Agenta's SDK, with its sync then its async methods, creates an app, creates and commits the "default"
    # variant, deploys it, fetches configs, forks, deletes, and renames and deletes the app
    report = run_scenario(lamina_http, tenant.api_key, prefix)

    # THEN it never tried to reach anything off loopback
    assert report["off_loopback"] == []
    for mode in MODES:
        check_mode(report["modes"][mode], f"{prefix}-{mode}")


def check_mode(steps: dict[str, Any], app_slug: str) -> None:
    def value(step: str) -> Any:
        return steps[step]["value"]

    app = value("app_create")
    assert app["app_slug"] == app_slug and app["app_id"]
    created, committed = value("variant_create"), value("variant_commit")
    assert created["variant_slug"] == "default"
    assert (created["variant_version"], created["params"]) == (1, PROMPT_V1)
    assert (committed["variant_version"], committed["params"]) == (2, PROMPT_V2)
    # history lists the committed versions, newest first, with their parameters
    history = value("variant_history")
    assert [(h["variant_version"], h["params"]) for h in history] == [(2, PROMPT_V2), (1, PROMPT_V1)]
    listed = {v["variant_slug"]: v for v in value("variant_list")}
    assert listed["default"]["params"] == PROMPT_V2
    # a variant with nothing committed is listed, and fetched, as an empty configuration
    assert (listed["draft"]["params"], listed["draft"]["variant_version"]) == ({}, None)
    assert value("config_uncommitted") == {}
    # deploy answers the deployed revision and its environment
    production = value("deploy_latest_to_production")
    assert (production["variant_version"], production["environment_slug"]) == (2, "production")
    assert value("deploy_v1_to_staging")["variant_version"] == 1
    # the registry serves what was deployed, by environment (and environment version), and by variant (and version)
    assert value("config_production") == PROMPT_V2
    assert value("config_staging_by_app_id") == PROMPT_V1
    assert value("config_production_now") == PROMPT_V1
    assert value("config_production_env_v1") == PROMPT_V2
    assert value("config_variant_v1") == PROMPT_V1
    assert value("config_variant_latest") == PROMPT_V2
    # fork makes a new variant with the source version's parameters; delete archives it
    fork = value("variant_fork")
    assert fork["variant_slug"].startswith("default-fork-") and fork["params"] == PROMPT_V1
    after_delete = {v["variant_slug"] for v in value("variant_list_after_delete")}
    assert "default" in after_delete and fork["variant_slug"] not in after_delete
    assert after_delete == set(listed)
    # the application is listed, renamed, and gone from the list once deleted (archived)
    assert app_slug in {a["app_slug"] for a in value("app_list")}
    assert value("app_update")["app_slug"] == f"{app_slug}-renamed"
    remaining = {a["app_id"] for a in value("app_list_after_delete")}
    assert app["app_id"] not in remaining
