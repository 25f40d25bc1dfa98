"""Agenta's own Python SDK (`agenta` from PyPI, unmodified, in .venv-agenta) against Lamina's API over real HTTP.

The API app is served by uvicorn on a loopback port of this process; the SDK runs in its own interpreter
(tests/integration/agenta_sdk_scenario.py), which refuses every connection off loopback and reports any attempt.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.integration.agenta_sdk_scenario import PROMPT_V1, PROMPT_V2
from tests.integration.api_client import Tenant, api_env, cognito_pool, make_tenant, own_events_queue
from tests.support import ROOT

__all__ = ["api_env", "cognito_pool", "make_tenant", "own_events_queue"]  # fixtures used by the tests below

SDK_PYTHON = ROOT / ".venv-agenta" / "bin" / "python"
SCENARIO = ROOT / "tests" / "integration" / "agenta_sdk_scenario.py"
SERVER_START_TIMEOUT_S = 20
SCENARIO_TIMEOUT_S = 240
# The SDK's environment: no telemetry, no proxy, LiteLLM's bundled cost map instead of a download at import.
SDK_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_TELEMETRY": "False",
    "AGENTA_LOG_CONSOLE_LEVEL": "WARNING",
    "NO_PROXY": "*",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def lamina_http(api_env: dict[str, str]) -> Iterator[str]:
    """Lamina's API app served over HTTP on loopback (the same app the API function wraps with Mangum)."""
    import uvicorn

    from lamina.api.app import create_app

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="lamina-http", daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def run_scenario(host: str, api_key: str, mode: str, app_slug: str) -> dict[str, Any]:
    if not SDK_PYTHON.exists():
        pytest.fail(f"{SDK_PYTHON} is missing: run scripts/bootstrap (it runs scripts/agenta-venv)")
    env = {name: value for name, value in os.environ.items() if not name.upper().endswith("_PROXY")}
    completed = subprocess.run(
        [str(SDK_PYTHON), str(SCENARIO), host, api_key, mode, app_slug],
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
    failed = {name: step["error"] for name, step in report["steps"].items() if not step["ok"]}
    assert not failed, json.dumps(failed, indent=2) + "\n" + completed.stderr[-5000:]
    return report


def value(report: dict[str, Any], step: str) -> Any:
    return report["steps"][step]["value"]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_agenta_sdk_managers_against_lamina(
    mode: str, make_tenant: Callable[..., Tenant], lamina_http: str
) -> None:
    # GIVEN a tenant's API key and Lamina's API on a loopback port
    tenant = make_tenant()
    app_slug = f"sdk-{mode}-{uuid.uuid4().hex[:6]}"
    # WHEN Agenta's SDK creates an app, creates and commits the "default" variant, deploys, fetches, forks, deletes
    report = run_scenario(lamina_http, tenant.api_key, mode, app_slug)

    # THEN it never tried to reach anything off loopback
    assert report["off_loopback"] == []
    app = value(report, "app_create")
    assert app["app_slug"] == app_slug and app["app_id"]
    created, committed = value(report, "variant_create"), value(report, "variant_commit")
    assert created["params"] == PROMPT_V1 and committed["params"] == PROMPT_V2
    assert committed["variant_version"] == created["variant_version"] + 1
    first, latest = created["variant_version"], committed["variant_version"]
    # history lists the committed versions, newest first, with their parameters
    history = value(report, "variant_history")
    assert [h["variant_version"] for h in history][:2] == [latest, first]
    assert [h["params"] for h in history][:2] == [PROMPT_V2, PROMPT_V1]
    assert "default" in {v["variant_slug"] for v in value(report, "variant_list")}
    # deploy returns the deployed revision and the environment it now stands in
    production = value(report, "deploy_latest_to_production")
    assert production["variant_version"] == latest and production["environment_slug"] == "production"
    assert value(report, "deploy_version_1_to_staging")["variant_version"] == 1
    # the registry serves what was committed: by environment, by variant and version, by variant
    assert value(report, "config_production") == PROMPT_V2
    assert value(report, "config_staging_by_app_id") == value(report, "config_variant_version_1")
    assert value(report, "config_variant_latest") == PROMPT_V2
    # fork makes a new variant with the source version's parameters; delete archives it
    fork = value(report, "variant_fork")
    assert fork["variant_slug"].startswith("default-fork-")
    assert fork["params"] == value(report, "config_variant_version_1")
    slugs_before = {v["variant_slug"] for v in value(report, "variant_list")}
    slugs_after = {v["variant_slug"] for v in value(report, "variant_list_after_delete")}
    assert fork["variant_slug"] not in slugs_before | slugs_after
    assert slugs_after == slugs_before
