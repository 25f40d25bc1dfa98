"""Evaluation runs end to end: the API creates a run, the evaluations worker (its Lambda handler, fed the
queue's messages) invokes the application through the services layer against the fake OpenAI-compatible
server, then the evaluators; the watchdog, re-running failed scenarios and comparing runs."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.fake_openai import POISON, FakeOpenAI, fake_openai_server
from tests.integration.api_client import Tenant, api_env, cognito_pool, make_tenant, own_events_queue
from tests.integration.evaluations_support import (
    EXPLODING_CODE,
    PROVIDER,
    application_data,
    drain,
    make_evaluator,
    make_testset,
    message_types,
)

__all__ = ["api_env", "cognito_pool", "make_tenant", "own_events_queue"]

ROWS = 50
POISON_ROW = 7
EXPLODING_ROWS = (3, 20, 41)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with fake_openai_server() as server:
        yield server


@pytest.fixture
def evaluations_queue(api_env: dict[str, str]) -> Iterator[str]:
    """An evaluations queue of this test's own (1 s visibility timeout), set as the process's."""
    from lamina import state

    sqs = state.current().aws_client("sqs")
    url: str = sqs.create_queue(
        QueueName=f"lamina-test-evaluations-{uuid.uuid4().hex[:10]}", Attributes={"VisibilityTimeout": "5"}
    )["QueueUrl"]
    state.configure(state.current().settings.model_copy(update={"evaluations_queue_url": url}))
    yield url
    sqs.delete_queue(QueueUrl=url)


@pytest.fixture
def tenant(make_tenant: Callable[..., Tenant], fake: FakeOpenAI) -> Tenant:
    tenant = make_tenant()
    settings = {"provider": "openai", "api_base": fake.api_base, "api_key": "sk-fake-evaluations-0001"}
    tenant.client.post(
        "/api/secrets/", {"secret": {"name": PROVIDER, "kind": "custom", "value": json.dumps(settings)}}
    ).ok()
    return tenant


def _application(tenant: Tenant, content: str = "Say hi to {{name}}.") -> str:
    slug = f"app-{uuid.uuid4().hex[:8]}"
    created = tenant.client.post(
        "/api/simple/applications/",
        {"application": {"slug": slug, "data": application_data(content=content)}},
    ).ok()["application"]
    return str(created["revision_id"])


def _rows(count: int) -> list[dict[str, Any]]:
    rows = []
    for index in range(count):
        name = POISON if index == POISON_ROW else f"n{index}"
        row: dict[str, Any] = {"name": name, "correct_answer": f"fake says: Say hi to {name}."}
        if index in EXPLODING_ROWS:
            row["explode"] = True
        if index % 2:
            row["correct_answer"] = "something else"
        rows.append(row)
    return rows


def _create(tenant: Tenant, testset: uuid.UUID, app: str, evaluators: list[uuid.UUID], **data: Any) -> str:
    body = {
        "evaluation": {
            "name": "nightly",
            "data": {
                "testset_steps": {str(testset): "custom"},
                "application_steps": {app: "custom"},
                "evaluator_steps": {str(e): "auto" for e in evaluators},
                **data,
            },
        }
    }
    return str(tenant.client.post("/api/simple/evaluations/", body).ok()["evaluation"]["id"])


def _run(tenant: Tenant, run_id: str) -> dict[str, Any]:
    run: dict[str, Any] = tenant.client.get(f"/api/evaluations/runs/{run_id}").ok()["run"]
    return run


def _finished(tenant: Tenant, run_id: str) -> Callable[[], bool]:
    return lambda: _run(tenant, run_id)["status"] in ("success", "errors", "failure", "cancelled")


def _scenarios(tenant: Tenant, run_id: str) -> list[dict[str, Any]]:
    body = {"scenario": {"run_id": run_id}, "windowing": {"limit": 1000}}
    scenarios: list[dict[str, Any]] = tenant.client.post("/api/evaluations/scenarios/query", body).ok()[
        "scenarios"
    ]
    return scenarios


def _results(tenant: Tenant, run_id: str) -> list[dict[str, Any]]:
    body = {"result": {"run_id": run_id}, "windowing": {"limit": 1000}}
    results: list[dict[str, Any]] = tenant.client.post("/api/evaluations/results/query", body).ok()["results"]
    return results


def _global_metrics(tenant: Tenant, run_id: str) -> dict[str, Any]:
    body = {"metrics": {"run_id": run_id, "scenario_ids": False}}
    (row,) = tenant.client.post("/api/evaluations/metrics/query", body).ok()["metrics"]
    data: dict[str, Any] = row["data"]
    return data


def test_a_run_over_fifty_rows_ends_terminal_with_the_right_failures_and_metrics(
    tenant: Tenant, fake: FakeOpenAI, evaluations_queue: str, own_events_queue: str
) -> None:
    # GIVEN 50 test cases (one poison row the provider refuses, three rows on which an evaluator raises),
    # an application, an exact-match evaluator and a custom-code one, and a provider throttling for a while
    project_id = uuid.UUID(tenant.project_id)
    testset = make_testset(project_id, _rows(ROWS))
    exact = make_evaluator(project_id, "auto_exact_match", {"correct_answer_key": "correct_answer"})
    code = make_evaluator(project_id, "auto_custom_code_run", {"code": EXPLODING_CODE})
    app = _application(tenant)
    message_types(own_events_queue)

    # WHEN the run is created (it starts at once) and the worker drains its queue
    run_id = _create(tenant, testset, app, [exact, code], concurrency=10)
    created = _run(tenant, run_id)
    assert created["status"] == "running" and created["progress"]["queued"] == ROWS
    fake.rate_limit_for(requests=12)
    drain(evaluations_queue, _finished(tenant, run_id))

    # THEN every scenario is terminal: the poison row failed with the provider's reason, the rows whose
    # evaluator raised have errors with the evaluator's message, the rest succeeded despite the 429s
    run = _run(tenant, run_id)
    assert run["status"] == "errors"
    assert run["progress"] == {
        "total": ROWS, "pending": 0, "queued": 0, "running": 0,
        "success": ROWS - 1 - len(EXPLODING_ROWS), "errors": len(EXPLODING_ROWS), "failure": 1, "cancelled": 0,
    }  # fmt: skip
    assert fake.rate_limited_answers > 0
    scenarios = {s["inputs"]["name"]: s for s in _scenarios(tenant, run_id)}
    assert scenarios[POISON]["status"] == "failure"
    assert "application failed" in scenarios[POISON]["error"] and "poison" in scenarios[POISON]["error"]
    for index in EXPLODING_ROWS:
        assert scenarios[f"n{index}"]["status"] == "errors"
        assert "boom: this evaluator raises on purpose" in scenarios[f"n{index}"]["error"]
    # one result per (scenario, step, repeat), each evaluator result linked to its invocation's trace
    results = _results(tenant, run_id)
    assert len(results) == ROWS + 2 * (ROWS - 1)
    assert len({(r["scenario_id"], r["step_key"], r["repeat_idx"]) for r in results}) == len(results)
    invoked = [r for r in results if r["step_key"] == "application" and r["status"] == "success"]
    assert len(invoked) == ROWS - 1 and all(len(r["trace_id"]) == 32 for r in invoked)

    # AND the metrics are the aggregates of those results
    metrics = _global_metrics(tenant, run_id)
    application = metrics["application"]
    assert application["success"]["count"] == ROWS and application["success"]["true"] == ROWS - 1
    assert application["latency_ms"]["count"] == ROWS - 1
    assert (
        application["latency_ms"]["p50"]
        <= application["latency_ms"]["p95"]
        <= application["latency_ms"]["max"]
    )
    matched = [i for i in range(ROWS) if i != POISON_ROW and i % 2 == 0]
    exact_match = metrics[f"evaluator.{exact}"]["success"]
    assert exact_match["type"] == "binary" and exact_match["count"] == ROWS - 1
    assert metrics[f"evaluator.{exact}"]["error"]["true"] == 0
    assert exact_match["true"] == len(matched)
    code_metrics = metrics[f"evaluator.{code}"]
    assert code_metrics["error"]["true"] == len(EXPLODING_ROWS)
    lengths = [
        len(f"fake says: Say hi to n{i}.") / 100
        for i in range(ROWS)
        if i != POISON_ROW and i not in EXPLODING_ROWS
    ]
    assert code_metrics["score"]["mean"] == pytest.approx(sum(lengths) / len(lengths))
    assert code_metrics["long"]["rate"] == pytest.approx(sum(1 for x in lengths if x > 0.22) / len(lengths))

    # AND the run's start and finish were published through the outbox
    events = [(t, p) for t, p in message_types(own_events_queue) if t.startswith("evaluations.")]
    assert [t for t, _ in events] == ["evaluations.run.started", "evaluations.run.finished"]
    assert events[1][1]["status"] == "errors" and events[1][1]["counts"]["failure"] == 1

    # WHEN only the failed scenarios are re-run
    kept = {r["id"] for r in results if r["scenario_id"] == scenarios["n0"]["id"]}
    rerun = tenant.client.post(f"/api/simple/evaluations/{run_id}/rerun").ok()["evaluation"]
    assert rerun["progress"]["queued"] == 1 + len(EXPLODING_ROWS)
    drain(evaluations_queue, _finished(tenant, run_id))
    # THEN they fail the same way again, and the successful scenarios' results were not touched
    assert _run(tenant, run_id)["progress"]["errors"] == len(EXPLODING_ROWS)
    assert kept <= {r["id"] for r in _results(tenant, run_id)}


def test_the_providers_usage_feeds_the_token_limiter_and_the_runs_tokens_and_cost(
    tenant: Tenant, fake: FakeOpenAI, evaluations_queue: str
) -> None:
    from lamina import state
    from lamina.cache import get_redis
    from lamina.services.llm import litellm

    # GIVEN a provider of its own (a model litellm prices) under a tokens-per-minute limit, and 6 rows
    provider = f"fk{uuid.uuid4().hex[:8]}"
    secret = {"provider": "openai", "api_base": fake.api_base, "api_key": "sk-fake-evaluations-0002"}
    tenant.client.post(
        "/api/secrets/", {"secret": {"name": provider, "kind": "custom", "value": json.dumps(secret)}}
    ).ok()
    settings = state.current().settings
    state.configure(
        settings.model_copy(update={"evaluation_provider_limits": {provider: {"rpm": 0, "tpm": 1_000_000}}})
    )
    rows = 6
    slug = f"app-{uuid.uuid4().hex[:8]}"
    app = tenant.client.post(
        "/api/simple/applications/",
        {"application": {"slug": slug, "data": application_data(model=f"{provider}/gpt-4o-mini")}},
    ).ok()["application"]["revision_id"]
    testset = make_testset(uuid.UUID(tenant.project_id), _rows(rows))
    exact = make_evaluator(
        uuid.UUID(tenant.project_id), "auto_exact_match", {"correct_answer_key": "correct_answer"}
    )

    # WHEN the run is drained (the fake answers every call with 11 prompt and 7 completion tokens)
    try:
        run_id = _create(tenant, testset, str(app), [exact], concurrency=3)
        drain(evaluations_queue, _finished(tenant, run_id))
    finally:
        state.configure(settings)

    # THEN the limiter counted the provider's own tokens, not an estimate from the text's length
    counted = sum(
        int(get_redis().get(key) or 0)
        for key in get_redis().keys(f"lamina:evaluations:rate:{provider}:*:tokens")
    )
    assert counted == rows * 18
    # AND each application cell carries its usage, and the run's metrics sum the tokens and their cost
    prompt_cost, completion_cost = litellm().cost_per_token(
        model="gpt-4o-mini", prompt_tokens=11, completion_tokens=7
    )
    invoked = [r for r in _results(tenant, run_id) if r["step_key"] == "application"]
    assert all(r["outputs"]["usage"]["total_tokens"] == 18 for r in invoked)
    application = _global_metrics(tenant, run_id)["application"]
    assert application["tokens.prompt"]["sum"] == rows * 11
    assert application["tokens.completion"]["sum"] == rows * 7
    assert application["tokens.total"]["sum"] == rows * 18
    assert application["cost"]["sum"] == pytest.approx(rows * (prompt_cost + completion_cost))
    assert application["cost"]["mean"] > 0


def test_the_watchdog_fails_stuck_scenarios_then_rerun_and_compare(
    tenant: Tenant, fake: FakeOpenAI, evaluations_queue: str
) -> None:
    from sqlalchemy import update

    from lamina.cron.service import watchdog
    from lamina.db.base import utcnow
    from lamina.db.unit_of_work import unit_of_work
    from lamina.evaluations.models import EvaluationScenario

    # GIVEN a run whose messages a worker took and then died with (its scenarios running, past their deadline)
    project_id = uuid.UUID(tenant.project_id)
    testset = make_testset(
        project_id, [{"name": f"w{i}", "correct_answer": f"fake says: Say hi to w{i}."} for i in range(4)]
    )
    exact = make_evaluator(project_id, "exact_match", {"correct_answer_key": "correct_answer"})
    app = _application(tenant)
    run_id = _create(tenant, testset, app, [exact])
    message_types(evaluations_queue)
    with unit_of_work() as session:
        session.execute(
            update(EvaluationScenario)
            .where(EvaluationScenario.run_id == uuid.UUID(run_id))
            .values(status="running", deadline_at=utcnow() - timedelta(seconds=1))
        )

    # WHEN the cron's watchdog runs
    report = watchdog()

    # THEN the stuck scenarios fail with a reason, and the run reaches a terminal state
    assert report["evaluations"]["failed_scenarios"] == 4
    run = _run(tenant, run_id)
    assert run["status"] == "failure" and run["progress"]["failure"] == 4
    assert all(
        s["error"].startswith("watchdog: no result before its deadline") for s in _scenarios(tenant, run_id)
    )

    # WHEN the failed scenarios are re-run
    tenant.client.post(f"/api/simple/evaluations/{run_id}/rerun").ok()
    drain(evaluations_queue, _finished(tenant, run_id))
    # THEN the run succeeds
    assert _run(tenant, run_id)["status"] == "success"

    # WHEN a second application revision is evaluated on the same test set and the runs are compared
    other = _application(tenant, content="Say bye to {{name}}.")
    second = _create(tenant, testset, other, [exact])
    drain(evaluations_queue, _finished(tenant, second))
    compared = tenant.client.post("/api/evaluations/runs/compare", {"run_ids": [run_id, second]}).ok()

    # THEN each test case shows both runs' outputs and scores, and the metric deltas are second - first
    assert len(compared["scenarios"]) == 4
    row = compared["scenarios"][0]
    assert row["runs"][run_id]["outputs"].startswith("fake says: Say hi")
    assert row["runs"][second]["outputs"].startswith("fake says: Say bye")
    assert row["runs"][run_id]["scores"][f"evaluator.{exact}"] == {"success": True}
    delta = compared["deltas"][f"evaluator.{exact}.success.rate"]
    assert delta["values"] == {run_id: 1.0, second: 0.0} and delta["deltas"] == {second: -1.0}


def test_a_person_annotates_a_scenario_and_a_trigger_request_creates_one_run(
    tenant: Tenant, fake: FakeOpenAI, evaluations_queue: str
) -> None:
    from lamina.db.unit_of_work import unit_of_work
    from lamina.events.outbox import stage_message
    from lamina.queues.names import Queue

    # GIVEN a trigger's request for a run, delivered twice
    project_id = uuid.UUID(tenant.project_id)
    testset = make_testset(project_id, [{"name": "solo", "correct_answer": "x"}])
    app = _application(tenant)
    delivery = str(uuid.uuid4())
    payload = {
        "project_id": tenant.project_id,
        "trigger_id": str(uuid.uuid4()),
        "delivery_id": delivery,
        "run": {
            "testset_steps": {str(testset): "auto"},
            "application_steps": {app: "auto"},
            "concurrency": 2,
        },
    }
    for _ in range(2):
        with unit_of_work() as session:
            stage_message(
                session, Queue.EVALUATIONS, "evaluations.runs.requested", payload, project_id=project_id
            )

    # WHEN the worker drains the queue
    def one_run_finished() -> bool:
        runs = tenant.client.post("/api/evaluations/runs/query", {}).ok()["runs"]
        return len(runs) == 1 and runs[0]["status"] == "success"

    drain(evaluations_queue, one_run_finished)

    # THEN one run was created and ran
    (run,) = tenant.client.post("/api/evaluations/runs/query", {}).ok()["runs"]
    assert run["progress"]["success"] == 1 and run["meta"]["trigger_id"] == payload["trigger_id"]

    # WHEN a person scores its scenario
    (scenario,) = _scenarios(tenant, run["id"])
    annotated = tenant.client.post(
        f"/api/evaluations/scenarios/{scenario['id']}/annotate",
        {"annotation": {"step_key": "quality", "outputs": {"score": 4, "helpful": True}, "note": "fine"}},
    ).ok()["results"][0]

    # THEN the score is a result on a human step, and the run's metrics count it
    assert annotated["step_key"] == "human.quality" and annotated["outputs"] == {"score": 4, "helpful": True}
    metrics = _global_metrics(tenant, run["id"])
    assert metrics["human.quality"]["score"]["mean"] == 4 and metrics["human.quality"]["helpful"]["rate"] == 1
