"""Agenta's `aevaluate` (the real `agenta` package, unmodified, in .venv-agenta) against Lamina end to end.

Lamina's API is served over HTTP on loopback; the SDK process runs the quick start of Agenta's docs: an
application that asks the fake OpenAI-compatible server over HTTP, a custom and a built-in evaluator, an inline
test set. The SDK exports each step's trace to Lamina (OTLP) and reads it back before writing the result, so
the tracing worker drains its queue in the background the way Lambda's SQS poller would.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fake_openai import FakeOpenAI, fake_openai_server
from tests.integration.api_client import (
    Tenant,
    api_env,
    api_over_http,
    cognito_pool,
    make_tenant,
    own_events_queue,
)
from tests.integration.test_agenta_sdk import SCENARIO_TIMEOUT_S, SDK_ENV, SDK_PYTHON
from tests.integration.test_api_health import load_handler_module
from tests.integration.test_tracing import tracing_queue
from tests.support import ROOT, LambdaContext

__all__ = ["api_env", "cognito_pool", "make_tenant", "own_events_queue", "tracing_queue"]

SCENARIO = ROOT / "tests" / "integration" / "agenta_sdk_aevaluate_scenario.py"
ROWS = 3


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with fake_openai_server() as server:
        yield server


@pytest.fixture
def lamina_http(tracing_queue: str) -> Iterator[str]:
    with api_over_http() as url:
        yield url


def drain_tracing_queue(queue_url: str, stop: threading.Event, lambda_context: LambdaContext) -> None:
    """Hand each tracing message to the real worker as soon as it lands, until `stop`."""
    from lamina import aws

    sqs = aws.client("sqs")
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    handler = load_handler_module("workers", "tracing").handler
    while not stop.is_set():
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
        if not messages:
            continue
        records = [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": "us-east-1",
            }
            for message in messages
        ]
        handler({"Records": records}, lambda_context)


def run_aevaluate(host: str, api_key: str, fake: FakeOpenAI, prefix: str) -> dict[str, Any]:
    if not SDK_PYTHON.exists():
        pytest.fail(f"{SDK_PYTHON} is missing: run scripts/bootstrap (it runs scripts/agenta-venv)")
    env = {name: value for name, value in os.environ.items() if not name.upper().endswith("_PROXY")}
    completed = subprocess.run(
        [str(SDK_PYTHON), str(SCENARIO), host, api_key, fake.api_base, prefix],
        env={**env, **SDK_ENV},
        capture_output=True,
        text=True,
        timeout=SCENARIO_TIMEOUT_S,
        cwd=ROOT,
    )
    assert completed.returncode == 0, completed.stderr[-5000:]
    report: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    assert "error" not in report, report["error"] + "\n" + completed.stderr[-3000:]
    return report


def test_aevaluate_runs_agentas_quick_start_against_lamina(
    make_tenant: Callable[..., Tenant],
    lamina_http: str,
    tracing_queue: str,
    fake: FakeOpenAI,
    lambda_context: LambdaContext,
) -> None:
    # GIVEN a tenant's API key, Lamina's API on loopback, and the tracing worker draining its queue
    tenant = make_tenant()
    prefix = f"qs{uuid.uuid4().hex[:6]}"
    stop = threading.Event()
    drainer = threading.Thread(target=drain_tracing_queue, args=(tracing_queue, stop, lambda_context))
    drainer.start()
    try:
        # WHEN Agenta's `aevaluate` runs an application and two evaluators over an inline test set
        report = run_aevaluate(lamina_http, tenant.api_key, fake, prefix)
    finally:
        stop.set()
        drainer.join()

    # THEN it ran without leaving loopback, and the application asked the provider once per row
    assert report["off_loopback"] == []
    assert len([r for r in fake.requests if r["path"].endswith("/chat/completions")]) == ROWS
    assert len(report["scenarios"]) == ROWS
    assert all(item["status"] == "success" for item in report["scenarios"])

    # AND Lamina holds the closed run, its scenarios, and one cell per (scenario, step): the test case, the
    # application and the two evaluators, each step the SDK ran linked to the trace it exported
    run_id = report["run"]["id"]
    stored = tenant.client.get(f"/api/evaluations/runs/{run_id}").ok()["run"]
    assert stored["status"] == "success" and stored["flags"]["is_closed"] is True
    scenarios = tenant.client.post("/api/evaluations/scenarios/query", {"scenario": {"run_id": run_id}}).ok()[
        "scenarios"
    ]
    assert len(scenarios) == ROWS and {s["status"] for s in scenarios} == {"success"}
    results = tenant.client.post("/api/evaluations/results/query", {"result": {"run_id": run_id}}).ok()[
        "results"
    ]
    assert len(results) == ROWS * 4 and {r["status"] for r in results} == {"success"}
    traced = [r for r in results if r["trace_id"]]
    assert len(traced) == ROWS * 3
    assert tenant.client.get(f"/api/traces/{traced[0]['trace_id']}").ok()["trace"] is not None

    # AND the run's metrics aggregate what the evaluators answered (read from their traces): every country
    # named, every answer starting with the fake's prefix, and the application's latency
    headline = report["metrics"]["global"]["data"]
    steps = {key.split("-", 1)[0]: [] for key in headline}
    for key, metrics in headline.items():
        steps[key.split("-", 1)[0]].append(metrics)
    (application,) = steps["application"]
    assert application["success"] == {"type": "binary", "count": ROWS, "true": ROWS, "rate": 1.0}
    assert application["latency_ms"]["count"] == ROWS
    scored = {name for metrics in steps["evaluator"] for name in metrics}
    assert {"score", "success", "error"} <= scored
    for metrics in steps["evaluator"]:
        assert metrics["error"]["true"] == 0 and metrics["success"]["rate"] == 1.0
    (named,) = [metrics for metrics in steps["evaluator"] if "score" in metrics]
    assert named["score"]["mean"] == 1.0 and named["score"]["count"] == ROWS
    assert len(report["metrics"]["variational"]) == ROWS
