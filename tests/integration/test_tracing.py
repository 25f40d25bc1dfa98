"""OTLP ingest end to end: the real OpenTelemetry SDK exports over loopback HTTP to the API, the body lands in S3
(moto) and its key on the tracing queue, the real worker handler stores the spans in Postgres, and the query API
returns them as a tree with tokens and cost."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
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
from tests.integration.test_api_health import load_handler_module
from tests.integration.test_events_worker import receive_as_lambda_event
from tests.support import ROOT, LambdaContext

__all__ = ["api_env", "cognito_pool", "make_tenant", "own_events_queue"]  # fixtures used by the tests below

MODEL = "gpt-4o-mini"
PROMPT_TOKENS, COMPLETION_TOKENS = 1200, 300


@pytest.fixture
def tracing_queue(api_env: dict[str, str]) -> Iterator[str]:
    """A tracing queue of this test's own, set as the process's TRACING queue."""
    from lamina import state

    sqs = state.current().aws_client("sqs")
    url: str = sqs.create_queue(
        QueueName=f"lamina-test-tracing-{uuid.uuid4().hex[:10]}", Attributes={"VisibilityTimeout": "300"}
    )["QueueUrl"]
    state.configure(state.current().settings.model_copy(update={"tracing_queue_url": url}))
    yield url
    state.current().aws_client("sqs").delete_queue(QueueUrl=url)


@pytest.fixture
def lamina_http(tracing_queue: str) -> Iterator[str]:
    """Lamina's API app served over HTTP on loopback."""
    with api_over_http() as url:
        yield url


def export_nested_spans(endpoint: str, api_key: str, session_id: str) -> str:
    """An agent → retrieval + LLM call trace, exported by the real SDK's OTLP/HTTP protobuf exporter (gzip)."""
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    exporter = OTLPSpanExporter(
        endpoint=f"{endpoint}/api/otlp/v1/traces",
        headers={"Authorization": f"ApiKey {api_key}"},
        compression=Compression.Gzip,
    )
    provider = TracerProvider(resource=Resource.create({"service.name": "tracing-test"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("tests")
    with tracer.start_as_current_span("agent") as root:
        root.set_attribute("ag.type.span", "agent")
        root.set_attribute("ag.data.inputs", '{"question": "why?"}')
        root.set_attribute("ag.session.id", session_id)
        with tracer.start_as_current_span("retrieve") as retrieve:
            retrieve.set_attribute("openinference.span.kind", "RETRIEVER")
            retrieve.set_attribute("input.value", "why?")
        with tracer.start_as_current_span("chat gpt-4o-mini") as llm:
            llm.set_attribute("gen_ai.operation.name", "chat")
            llm.set_attribute("gen_ai.request.model", MODEL)
            llm.set_attribute("gen_ai.usage.input_tokens", PROMPT_TOKENS)
            llm.set_attribute("gen_ai.usage.output_tokens", COMPLETION_TOKENS)
            llm.set_attribute("gen_ai.prompt.0.role", "user")
            llm.set_attribute("gen_ai.prompt.0.content", "why?")
        root.set_attribute("ag.data.outputs", '{"answer": "because"}')
        trace_id = format(root.get_span_context().trace_id, "032x")
    provider.shutdown()
    return trace_id


def run_tracing_worker(queue_url: str, expected: int, lambda_context: LambdaContext) -> dict[str, Any]:
    """The tracing queue's messages handed to the real worker function as Lambda's SQS poller would."""
    event = receive_as_lambda_event(queue_url, expected)
    assert len(event["Records"]) == expected
    result: dict[str, Any] = load_handler_module("workers", "tracing").handler(event, lambda_context)
    assert result == {"batchItemFailures": []}
    return event


def stored_bodies(project_id: str) -> list[str]:
    from lamina import aws
    from lamina.settings import get_settings

    listed = aws.client("s3").list_objects_v2(
        Bucket=get_settings().bucket_name, Prefix=f"otlp/traces/{project_id}/"
    )
    return [item["Key"] for item in listed.get("Contents", [])]


def span_rows(project_id: str) -> int:
    from sqlalchemy import func, select

    from lamina.db.unit_of_work import unit_of_work
    from lamina.tracing.models import Span

    with unit_of_work() as session:
        return int(
            session.execute(
                select(func.count()).select_from(Span).where(Span.project_id == uuid.UUID(project_id))
            ).scalar_one()
        )


def test_sdk_spans_are_stored_once_and_queried_as_a_tree(
    make_tenant: Callable[..., Tenant], lamina_http: str, tracing_queue: str, lambda_context: LambdaContext
) -> None:
    import litellm

    # GIVEN a tenant and the API on a loopback port
    tenant = make_tenant()
    session_id = f"session-{uuid.uuid4().hex[:6]}"

    # WHEN the OpenTelemetry SDK exports a nested trace (one request per span: SimpleSpanProcessor)
    trace_id = export_nested_spans(lamina_http, tenant.api_key, session_id)
    # THEN each body is in S3, and the worker stores the three spans from the queued keys
    assert len(stored_bodies(tenant.project_id)) == 3
    event = run_tracing_worker(tracing_queue, 3, lambda_context)
    assert span_rows(tenant.project_id) == 3

    # WHEN the same messages are delivered again, and the same spans are re-sent in a new body
    handler = load_handler_module("workers", "tracing").handler
    assert handler(event, lambda_context) == {"batchItemFailures": []}
    export_again = export_nested_spans_resend(lamina_http, tenant, trace_id)
    run_tracing_worker(tracing_queue, 1, lambda_context)
    # THEN no span is stored twice
    assert export_again == 3
    assert span_rows(tenant.project_id) == 3

    # THEN the trace comes back as a tree, with tokens and litellm's cost on the LLM span, summed up the tree
    trace = tenant.client.get(f"/api/traces/{trace_id}").ok()["trace"]
    assert trace == tenant.client.get(f"/api/tracing/traces/{trace_id}").ok()["trace"]
    root = trace["spans"]["agent"]
    assert set(root["spans"]) == {"retrieve", "chat gpt-4o-mini"}
    llm = root["spans"]["chat gpt-4o-mini"]
    retrieve = root["spans"]["retrieve"]
    assert (root["span_type"], llm["span_type"], retrieve["span_type"]) == ("agent", "chat", "query")
    assert root["attributes"]["ag"]["data"] == {
        "inputs": {"question": "why?"},
        "outputs": {"answer": "because"},
    }
    assert llm["attributes"]["ag"]["data"]["inputs"] == {"messages": [{"role": "user", "content": "why?"}]}
    prices = litellm.model_cost[MODEL]
    cost = (
        PROMPT_TOKENS * prices["input_cost_per_token"] + COMPLETION_TOKENS * prices["output_cost_per_token"]
    )
    tokens = {
        "prompt": PROMPT_TOKENS,
        "completion": COMPLETION_TOKENS,
        "total": PROMPT_TOKENS + COMPLETION_TOKENS,
    }
    assert llm["attributes"]["ag"]["metrics"]["tokens"]["incremental"] == tokens
    assert llm["attributes"]["ag"]["metrics"]["costs"]["incremental"]["total"] == pytest.approx(cost)
    assert root["attributes"]["ag"]["metrics"]["tokens"]["cumulative"] == tokens
    assert llm["attributes"]["ag"]["meta"]["request"]["model"] == MODEL

    # WHEN spans are queried with a filter tree, through both paths, one per window
    filtering = {
        "operator": "and",
        "conditions": [
            {"field": "trace_id", "value": trace_id},
            {
                "operator": "or",
                "conditions": [
                    {"field": "span_type", "operator": "in", "value": ["chat", "agent"]},
                    {"field": "attributes", "key": "input.value", "operator": "contains", "value": "WHY"},
                ],
            },
            {"operator": "not", "conditions": [{"field": "span_name", "value": "agent"}]},
        ],
    }
    first = tenant.client.post("/api/spans/query", {"filtering": filtering, "windowing": {"limit": 1}}).ok()
    second = tenant.client.post(
        "/api/tracing/spans/query",
        {"filtering": filtering, "windowing": {"limit": 1, "next": first["windowing"]["next"]}},
    ).ok()
    # THEN the two non-root spans come back, newest first, and the window ends
    names = [first["spans"][0]["span_name"], second["spans"][0]["span_name"]]
    assert names == ["chat gpt-4o-mini", "retrieve"]
    assert second.get("windowing") is None
    by_session = {"field": "session_id", "value": session_id}
    found = tenant.client.post("/api/spans/query", {"filtering": {"conditions": [by_session]}}).ok()
    assert [span["span_name"] for span in found["spans"]] == ["agent"]
    # AND a list of traces (root spans) shows what each trace used: the root's own figures, and the trace's sums
    [listed_root] = found["spans"]
    assert listed_root["attributes"]["ag"]["metrics"]["tokens"]["cumulative"] == tokens
    assert listed_root["attributes"]["ag"]["metrics"]["costs"]["cumulative"]["total"] == pytest.approx(cost)
    assert "incremental" not in listed_root["attributes"]["ag"]["metrics"]["tokens"]
    by_tokens = {"field": "attributes", "key": "gen_ai.usage.input_tokens", "operator": "gte", "value": 1000}
    found = tenant.client.post("/api/spans/query", {"filtering": {"conditions": [by_tokens]}}).ok()
    assert [span["span_id"] for span in found["spans"]] == [llm["span_id"]]
    # AND the analytics query sums them in one hourly bucket, through both paths
    analytics_body = {
        "filtering": {"conditions": [{"field": "trace_id", "value": trace_id}]},
        "windowing": {"interval": 60},
    }
    analytics = tenant.client.post("/api/spans/analytics/query", analytics_body).ok()
    assert analytics == tenant.client.post("/api/tracing/spans/analytics/query", analytics_body).ok()
    [bucket] = analytics["buckets"]
    assert (bucket["total"]["count"], bucket["total"]["tokens"], bucket["errors"]["count"]) == (
        3,
        tokens["total"],
        0,
    )
    assert bucket["total"]["costs"] == pytest.approx(cost)
    assert 0 < bucket["latency"]["p50"] <= bucket["latency"]["p99"]
    # AND another project sees none of it
    other = make_tenant()
    assert other.client.post("/api/spans/query", {"filtering": filtering}).ok()["count"] == 0
    assert other.client.get(f"/api/traces/{trace_id}").status == 404


def export_nested_spans_resend(endpoint: str, tenant: Tenant, trace_id: str) -> int:
    """Every stored span of the trace, re-sent as one OTLP/JSON body (a retrying exporter); the spans in it."""
    import json

    import httpx

    trace = tenant.client.get(f"/api/traces/{trace_id}").ok()["trace"]
    spans: list[dict[str, Any]] = []

    def walk(nodes: dict[str, Any]) -> None:
        for node in nodes.values():
            for span in node if isinstance(node, list) else [node]:
                spans.append(
                    {
                        "traceId": span["trace_id"],
                        "spanId": span["span_id"],
                        "parentSpanId": span["parent_id"] or "",
                        "name": span["span_name"],
                        "startTimeUnixNano": "1700000000000000000",
                        "endTimeUnixNano": "1700000001000000000",
                    }
                )
                walk(span.get("spans") or {})

    walk(trace["spans"])
    body = {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}
    response = httpx.post(
        f"{endpoint}/api/otlp/v1/traces",
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {tenant.api_key}"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {}
    return len(spans)


def test_malformed_and_oversized_bodies_are_refused_and_nothing_is_stored(
    make_tenant: Callable[..., Tenant], lamina_http: str, tracing_queue: str
) -> None:
    import httpx

    from lamina.tracing.otlp import OTLP_MAX_DECOMPRESSED_BYTES
    from lamina.tracing.routes import OTLP_MAX_BODY_BYTES

    tenant = make_tenant()
    url = f"{lamina_http}/api/otlp/v1/traces"
    protobuf = {"Content-Type": "application/x-protobuf", "Authorization": f"ApiKey {tenant.api_key}"}
    # WHEN a body is not protobuf, a gzip body is corrupt, a body is over the limit, or inflates past it
    malformed = httpx.post(url, content=b"\xff\xff\xff not protobuf", headers=protobuf)
    corrupt = httpx.post(url, content=b"\x1f\x8b broken", headers={**protobuf, "Content-Encoding": "gzip"})
    too_big = httpx.post(url, content=b"\0" * (OTLP_MAX_BODY_BYTES + 1), headers=protobuf)
    bomb = gzip.compress(b"\0" * (OTLP_MAX_DECOMPRESSED_BYTES + 1))
    inflated = httpx.post(url, content=bomb, headers={**protobuf, "Content-Encoding": "gzip"})
    unauthenticated = httpx.post(url, content=b"", headers={"Content-Type": "application/x-protobuf"})
    # THEN 400, 400, 413, 413 and 401, and nothing reached S3 or the queue
    statuses = [r.status_code for r in (malformed, corrupt, too_big, inflated, unauthenticated)]
    assert statuses == [400, 400, 413, 413, 401]
    assert stored_bodies(tenant.project_id) == []
    from lamina import aws

    attributes = aws.client("sqs").get_queue_attributes(
        QueueUrl=tracing_queue, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"

    # WHEN a body holds a span without a valid span id next to a good one
    good = {
        "traceId": "ab" * 16,
        "spanId": "cd" * 8,
        "name": "good",
        "startTimeUnixNano": "1700000000000000000",
    }
    bad = {**good, "spanId": "ef", "name": "bad"}
    body = {"resourceSpans": [{"scopeSpans": [{"spans": [good, bad]}]}]}
    partial = httpx.post(url, json=body, headers={"Authorization": f"ApiKey {tenant.api_key}"})
    # THEN the export is accepted with the bad span reported as rejected, and the body stored for the worker
    assert partial.status_code == 200
    assert partial.json()["partialSuccess"]["rejectedSpans"] == "1"
    assert len(stored_bodies(tenant.project_id)) == 1


def replay_with_cli(project_id: str, since: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> int:
    """`lamina traces replay` as against a deployed stack (bucket and queue given, the shell's AWS settings)."""
    from lamina import state
    from lamina_local.cli import main

    settings = state.current().settings
    monkeypatch.setenv("AWS_ENDPOINT_URL", settings.aws_endpoint_url)
    monkeypatch.setenv("AWS_REGION", settings.aws_region)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", settings.aws_access_key_id or "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", settings.aws_secret_access_key or "testing")
    arguments = ["--project", project_id, "--since", since.isoformat()]
    arguments += ["--bucket", settings.bucket_name, "--queue-url", settings.tracing_queue_url]
    try:
        code = main(["traces", "replay", *arguments])
    finally:
        state.configure(settings)  # the command configured the library from its own environment
    assert code == 0
    return int(capsys.readouterr().out.split()[1])


def test_a_replay_restores_spans_lost_downstream(
    make_tenant: Callable[..., Tenant],
    lamina_http: str,
    tracing_queue: str,
    lambda_context: LambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import delete

    from lamina.db.unit_of_work import unit_of_work
    from lamina.tracing.models import Span
    from lamina.tracing.replay import replay

    # GIVEN a trace that was ingested, then its spans lost (a bad deploy's migration, say)
    tenant = make_tenant()
    since = datetime.now(UTC) - timedelta(seconds=5)
    trace_id = export_nested_spans(lamina_http, tenant.api_key, "replayed")
    run_tracing_worker(tracing_queue, 3, lambda_context)
    with unit_of_work() as session:
        session.execute(delete(Span).where(Span.project_id == uuid.UUID(tenant.project_id)))
    assert tenant.client.get(f"/api/traces/{trace_id}").status == 404

    # WHEN the project's bodies since then are replayed and the worker consumes them
    assert replay(uuid.UUID(tenant.project_id), since) == 3
    run_tracing_worker(tracing_queue, 3, lambda_context)

    # THEN the trace is whole again, and replaying once more (with `lamina traces replay`) adds nothing
    assert set(tenant.client.get(f"/api/traces/{trace_id}").ok()["trace"]["spans"]["agent"]["spans"]) == {
        "retrieve",
        "chat gpt-4o-mini",
    }
    assert replay_with_cli(tenant.project_id, since, monkeypatch, capsys) == 3
    run_tracing_worker(tracing_queue, 3, lambda_context)
    assert span_rows(tenant.project_id) == 3


AGENTA_PYTHON = Path(os.environ.get("LAMINA_AGENTA_PYTHON", str(ROOT / ".venv-agenta" / "bin" / "python")))
AGENTA_SCENARIO = ROOT / "tests" / "integration" / "agenta_tracing_scenario.py"
AGENTA_TIMEOUT_S = 180
WORKER_ROUNDS = 10


def test_agenta_sdk_traces_into_lamina_unmodified(
    make_tenant: Callable[..., Tenant], lamina_http: str, tracing_queue: str, lambda_context: LambdaContext
) -> None:
    if not AGENTA_PYTHON.exists():
        pytest.skip(f"{AGENTA_PYTHON} is missing (scripts/agenta-venv, or set LAMINA_AGENTA_PYTHON)")
    # GIVEN a tenant's API key and Lamina's API on a loopback port
    tenant = make_tenant()
    marker = f"m-{uuid.uuid4().hex[:8]}"
    # WHEN Agenta's SDK runs nested @ag.instrument() functions after ag.init(host, api_key)
    env = {name: value for name, value in os.environ.items() if not name.upper().endswith("_PROXY")}
    completed = subprocess.run(
        [str(AGENTA_PYTHON), str(AGENTA_SCENARIO), lamina_http, tenant.api_key, marker],
        env={
            **env,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "AGENTA_LOG_CONSOLE_LEVEL": "WARNING",
            "NO_PROXY": "*",
        },
        capture_output=True,
        text=True,
        timeout=AGENTA_TIMEOUT_S,
        cwd=ROOT,
    )
    assert completed.returncode == 0, completed.stderr[-5000:]
    assert json.loads(completed.stdout.strip().splitlines()[-1])["off_loopback"] == []
    # AND the worker consumes what it exported
    for _ in range(WORKER_ROUNDS):
        if span_rows(tenant.project_id) >= 2:
            break
        event = receive_as_lambda_event(tracing_queue, 1)
        if event["Records"]:
            handler = load_handler_module("workers", "tracing").handler
            assert handler(event, lambda_context) == {"batchItemFailures": []}

    # THEN the workflow span and its tool child come back as a tree, with their inputs and outputs
    condition = {"field": "span_name", "value": "pipeline"}
    [root] = tenant.client.post("/api/spans/query", {"filtering": {"conditions": [condition]}}).ok()["spans"]
    trace = tenant.client.get(f"/api/tracing/traces/{root['trace_id']}").ok()["trace"]
    pipeline = trace["spans"]["pipeline"]
    shout = pipeline["spans"]["shout"]
    assert (pipeline["span_type"], shout["span_type"]) == ("workflow", "tool")
    assert pipeline["attributes"]["ag"]["data"]["inputs"] == {
        "question": "why is the sky blue",
        "marker": marker,
    }
    assert shout["attributes"]["ag"]["data"]["inputs"] == {"text": "why is the sky blue"}
    assert shout["attributes"]["ag"]["data"]["outputs"] == {"shouted": "WHY IS THE SKY BLUE"}
    assert pipeline["attributes"]["ag"]["data"]["outputs"]["answer"] == {"shouted": "WHY IS THE SKY BLUE"}


def test_retention_deletes_spans_past_their_projects_period(
    stack_env: dict[str, str], lambda_context: LambdaContext
) -> None:
    from lamina.db.unit_of_work import unit_of_work
    from lamina.tracing.otlp import DecodedSpan
    from lamina.tracing.retention import set_retention
    from lamina.tracing.store import span_rows, write_spans

    def span(project_id: uuid.UUID, age_days: float) -> DecodedSpan:
        start = time.time_ns() - int(age_days * 86_400 * 1e9)
        return DecodedSpan(
            trace_id=uuid.uuid4().hex,
            span_id=uuid.uuid4().hex[:16],
            parent_id=None,
            name=f"{age_days}-days-old",
            kind="SPAN_KIND_INTERNAL",
            start_unix_nano=start,
            end_unix_nano=start + 1_000_000,
            status_code="STATUS_CODE_OK",
            status_message=None,
            attributes={},
            resource={},
        )

    # GIVEN a project keeping spans 2 days and one on the default (30 days), each with spans of 1, 5 and 40 days
    short, default = uuid.uuid4(), uuid.uuid4()
    with unit_of_work() as session:
        set_retention(session, short, 2)
        for project in (short, default):
            write_spans(session, span_rows(project, [span(project, age) for age in (1, 5, 40)]))
    # WHEN the retention schedule runs the cron function
    result = load_handler_module("cron").handler({"task": "retention"}, lambda_context)
    # THEN each project kept only the spans within its period
    assert result["retention"]["spans_deleted"] >= 3
    from sqlalchemy import select

    from lamina.tracing.models import Span

    with unit_of_work() as session:
        kept = {
            (row[0], row[1])
            for row in session.execute(
                select(Span.project_id, Span.span_name).where(Span.project_id.in_([short, default]))
            )
        }
    assert kept == {(short, "1-days-old"), (default, "1-days-old"), (default, "5-days-old")}
