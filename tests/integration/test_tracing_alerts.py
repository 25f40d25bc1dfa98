"""A project's tracing settings over the API, and the error-threshold event the tracing worker stages."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.api_client import Tenant, api_env, cognito_pool, make_tenant, own_events_queue
from tests.integration.test_api_health import load_handler_module
from tests.support import LambdaContext

__all__ = ["api_env", "cognito_pool", "make_tenant", "own_events_queue"]  # fixtures used by the tests below

THRESHOLD_EVENT = "tracing.errors.threshold_exceeded"


def otlp_body(errors: int, ok: int) -> tuple[bytes, set[str]]:
    """An OTLP protobuf export of `errors` error spans and `ok` fine ones, two spans per trace."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    error_traces = set()
    for number in range(errors + ok):
        span = scope.spans.add()
        trace_id = uuid.UUID(int=number // 2 + 1).bytes
        span.trace_id, span.span_id, span.name = trace_id, uuid.uuid4().bytes[:8], f"step {number}"
        span.start_time_unix_nano = span.end_time_unix_nano = 1_700_000_000_000_000_000
        if number < errors:
            span.status.code, span.status.message = 2, "boom"
            error_traces.add(trace_id.hex())
    return request.SerializeToString(), error_traces


def ingest(project_id: str, body: bytes, lambda_context: LambdaContext) -> None:
    """Store the body as the endpoint does and hand its message to the real tracing worker function."""
    from lamina import aws
    from lamina.queues.envelope import Envelope
    from lamina.settings import get_settings
    from lamina.tracing import otlp
    from lamina.tracing.service import OTLP_RECEIVED, raw_body_key

    key = raw_body_key(uuid.UUID(project_id), otlp.PROTOBUF)
    aws.client("s3").put_object(Bucket=get_settings().bucket_name, Key=key, Body=body)
    envelope = Envelope(
        type=OTLP_RECEIVED,
        project_id=uuid.UUID(project_id),
        payload={"key": key, "content_type": otlp.PROTOBUF},
    )
    record = {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "test",
        "body": envelope.to_body(),
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:test-tracing",
        "awsRegion": "us-east-1",
    }
    result = load_handler_module("workers", "tracing").handler({"Records": [record]}, lambda_context)
    assert result == {"batchItemFailures": []}


@pytest.fixture
def events_queue(api_env: dict[str, str]) -> Iterator[str]:
    """An events queue of this test's own, set as the process's EVENTS queue (so it can be drained)."""
    from lamina import state

    before = state.current().settings
    sqs = state.current().aws_client("sqs")
    url: str = sqs.create_queue(QueueName=f"lamina-test-trace-alerts-{uuid.uuid4().hex[:10]}")["QueueUrl"]
    state.configure(before.model_copy(update={"events_queue_url": url}))
    yield url
    state.configure(before)
    sqs.delete_queue(QueueUrl=url)


def drain_threshold_events(queue_url: str) -> list[dict[str, Any]]:
    """The threshold events published to the queue so far (received and deleted)."""
    from lamina import state

    sqs = state.current().aws_client("sqs")
    found = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            body = json.loads(message["Body"])
            if body.get("type") == THRESHOLD_EVENT:
                found.append(body)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_project_tracing_settings_are_read_and_set_through_the_api(
    make_tenant: Callable[..., Tenant],
) -> None:
    # GIVEN a new project: the defaults
    tenant = make_tenant()
    settings = tenant.client.get("/api/tracing/settings").ok()["settings"]
    assert settings == {
        "retention_days": 30,
        "error_threshold": 50,
        "error_window_minutes": 5,
        "retention_is_default": True,
        "error_threshold_is_default": True,
    }
    # WHEN its retention is set, then its threshold, then its retention reset (null); and a bad value is sent
    tenant.client.put("/api/tracing/settings", {"retention_days": 7}).ok()
    tenant.client.put("/api/tracing/settings", {"error_threshold": 3}).ok()
    reset = tenant.client.put("/api/tracing/settings", {"retention_days": None}).ok()["settings"]
    refused = tenant.client.put("/api/tracing/settings", {"retention_days": 0})
    # THEN each change kept the other setting, and the bad value is a 4xx
    assert (reset["retention_days"], reset["retention_is_default"], reset["error_threshold"]) == (30, True, 3)
    assert 400 <= refused.status < 500


def test_error_spans_over_the_threshold_stage_one_event_per_window(
    make_tenant: Callable[..., Tenant], lambda_context: LambdaContext, events_queue: str
) -> None:
    from lamina.db.unit_of_work import unit_of_work
    from lamina.tracing.alerts import count_errors, window_start

    # GIVEN a project whose threshold is 3 error spans per window
    tenant = make_tenant()
    tenant.client.put("/api/tracing/settings", {"error_threshold": 3}).ok()
    body, error_traces = otlp_body(errors=4, ok=2)

    # WHEN the worker ingests a body with 4 error spans, then the same spans again (an exporter's retry)
    ingest(tenant.project_id, body, lambda_context)
    ingest(tenant.project_id, body, lambda_context)

    # THEN one event was staged with the count, the threshold and error traces to look at; the retry, which
    # stored nothing new, counted nothing
    [published] = drain_threshold_events(events_queue)
    assert published["project_id"] == tenant.project_id
    event = published["payload"]
    assert (event["errors"], event["threshold"], event["project_id"]) == (4, 3, tenant.project_id)
    assert set(event["sample_trace_ids"]) == error_traces
    start = datetime.fromisoformat(event["window_start"])
    assert datetime.fromisoformat(event["window_end"]) - start == timedelta(minutes=5)

    # AND more errors in a window already announced stage nothing; the next window announces again
    project = uuid.UUID(tenant.project_id)
    later = datetime.now(UTC) + timedelta(hours=1)
    with unit_of_work() as session:
        first = count_errors(session, project, 3, ["a" * 32], at=later)
        again = count_errors(session, project, 5, ["b" * 32], at=later)
    with unit_of_work() as session:
        next_window = count_errors(session, project, 3, ["c" * 32], at=later + timedelta(minutes=5))
    assert first is not None and again is None and next_window is not None
    assert window_start(later + timedelta(minutes=5)) - window_start(later) == timedelta(minutes=5)
    assert len(drain_threshold_events(events_queue)) == 2
