"""Agenta's own SDK client (unmodified, in .venv-agenta) against Lamina's webhooks, triggers and events over real
HTTP: every response parsed by the SDK's generated models (`agenta/_client/{webhooks,triggers,events}`)."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lamina.webhooks.signing import delivery_id
from tests.integration.api_client import (
    Tenant,
    api_env,
    api_over_http,
    cognito_pool,
    make_tenant,
    own_events_queue,
)
from tests.integration.test_agenta_sdk import SDK_ENV, SDK_PYTHON
from tests.support import ROOT, configure_library

__all__ = ["api_env", "cognito_pool", "make_tenant", "own_events_queue"]  # fixtures used by the tests below

SCENARIO = ROOT / "tests" / "integration" / "agenta_sdk_automation_scenario.py"
SCENARIO_TIMEOUT_S = 240
NIL = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def lamina_http(api_env: dict[str, str]) -> Iterator[str]:
    """Lamina's API on loopback, allowed to deliver webhooks to loopback (its own health route: a 405)."""
    configure_library({**api_env, "LAMINA_OUTBOUND_ALLOW_LOOPBACK": "true"})
    with api_over_http() as url:
        yield url


def run_scenario(host: str, api_key: str, prefix: str, event_id: uuid.UUID) -> dict[str, Any]:
    if not SDK_PYTHON.exists():
        pytest.fail(f"{SDK_PYTHON} is missing: run scripts/bootstrap (it runs scripts/agenta-venv)")
    env = {name: value for name, value in os.environ.items() if not name.upper().endswith("_PROXY")}
    completed = subprocess.run(
        [str(SDK_PYTHON), str(SCENARIO), host, api_key, prefix, str(event_id)],
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


def store_event(project_id: uuid.UUID) -> uuid.UUID:
    """An event in the project's log, as the events worker stores one."""
    from lamina.db.base import utcnow
    from lamina.db.unit_of_work import unit_of_work
    from lamina.events.models import EventRecord

    event_id = uuid.uuid4()
    with unit_of_work() as session:
        session.add(
            EventRecord(
                id=event_id,
                project_id=project_id,
                type="secrets.secret.created",
                payload={"secret_id": str(uuid.uuid4()), "name": "openai"},
                occurred_at=utcnow(),
            )
        )
    return event_id


def test_agenta_sdk_client_drives_webhooks_triggers_and_events(
    make_tenant: Callable[..., Tenant], lamina_http: str
) -> None:
    # GIVEN a tenant's API key, one event stored in its log, and Lamina's API on a loopback port
    tenant = make_tenant()
    prefix = f"sdk-{uuid.uuid4().hex[:6]}"
    event_id = store_event(uuid.UUID(tenant.project_id))
    # WHEN Agenta's generated client creates, edits, queries, stops, starts and deletes a webhook subscription,
    # a trigger subscription and a trigger schedule, and queries deliveries and events
    report = run_scenario(lamina_http, tenant.api_key, prefix, event_id)
    steps = {name: step["value"] for name, step in report["steps"].items()}
    # THEN every response parsed with the SDK's models, and nothing was reached off loopback
    assert report["off_loopback"] == []
    # AND a trigger subscription on Lamina's own events names the nil connection, its reference version a string
    created = steps["trigger_subscription_create"]["subscription"]
    assert created["connection_id"] == NIL
    assert created["data"]["references"]["application"]["version"] == "3"
    assert steps["trigger_subscription_query"]["count"] == 1
    assert steps["trigger_subscription_stop"]["subscription"]["flags"]["is_active"] is False
    assert steps["trigger_schedule_fetch"]["schedule"]["data"]["references"]["application"]["version"] == "3"
    # AND the webhook edit took, its secret was shown on create only, and its test delivery was logged (the
    # receiver, Lamina's own health route, answered 405) and found by Agenta's Status filter
    assert steps["webhook_create"]["subscription"]["secret"]
    assert steps["webhook_fetch"]["subscription"].get("secret") is None
    assert steps["webhook_query"]["subscriptions"][0]["data"]["url"] == f"{lamina_http}/api/health"
    tested = steps["webhook_test"]["delivery"]
    assert tested["status"]["code"] == "failed" and tested["data"]["response"]["status_code"] == 405
    assert [d["id"] for d in steps["webhook_deliveries"]["deliveries"]] == [tested["id"]]
    # AND the stored event was queued for the webhook under its deterministic delivery id
    queued = steps["webhook_delivery_create"]["delivery"]
    assert queued["status"]["code"] == "queued" and queued["event_id"] == str(event_id)
    assert queued["id"] == str(
        delivery_id(event_id, uuid.UUID(steps["webhook_create"]["subscription"]["id"]))
    )
    # AND the unsaved trigger subscription was tried on the stored event, recording the inputs it maps, and
    # revoke and refresh moved its validity, not its start/stop state
    tried = steps["trigger_subscription_test"]
    assert tried["count"] == 1 and tried["delivery"]["data"]["inputs"] == {"country": "openai"}
    assert steps["trigger_subscription_revoke"]["subscription"]["flags"]["is_valid"] is False
    assert steps["trigger_subscription_refresh"]["subscription"]["flags"]["is_valid"] is True
    # AND Lamina stored the (stopped, kept) schedule's version as the registry takes it: an integer
    from sqlalchemy import select

    from lamina.db.unit_of_work import unit_of_work
    from lamina.triggers.models import TriggerSchedule

    with unit_of_work() as session:
        stored = session.execute(
            select(TriggerSchedule.data).where(TriggerSchedule.project_id == uuid.UUID(tenant.project_id))
        ).scalar_one()
    assert stored["references"]["application"]["version"] == 3
