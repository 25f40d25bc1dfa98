"""SQS event-source mapping against moto's SQS: partial batch failures, redelivery and redrive to the DLQ."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from lamina_local.invoker import CallableInvoker, FakeLambdaContext
from lamina_local.model import QueueSpec, SqsMapping
from lamina_local.sqs_poller import SqsEventSource, failed_message_ids

pytestmark = pytest.mark.timeout(60)

REGION = "us-east-1"
MAX_RECEIVE_COUNT = 2


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def sqs_client(endpoint: str) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_poison_message_ends_in_the_dlq_without_blocking_the_batch(moto_endpoint: str) -> None:
    # GIVEN a queue with a 1 s visibility timeout redriving to a DLQ after 2 receives
    sqs = sqs_client(moto_endpoint)
    dlq_url = sqs.create_queue(QueueName="work-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
    queue_url = sqs.create_queue(
        QueueName="work", Attributes={"VisibilityTimeout": "1", "RedrivePolicy": json.dumps(redrive)}
    )["QueueUrl"]
    queue = QueueSpec(
        logical_id="WorkQueue",
        name="work",
        visibility_timeout_s=1,
        message_retention_s=3600,
        receive_wait_s=0,
        dead_letter_logical_id="WorkDeadLetterQueue",
        max_receive_count=MAX_RECEIVE_COUNT,
    )
    mapping = SqsMapping(
        function="Worker",
        queue="WorkQueue",
        batch_size=10,
        max_batching_window_s=0.5,
        report_batch_item_failures=True,
    )
    # AND a worker that fails the poison message through batchItemFailures
    processed: Counter[str] = Counter()
    records_seen: list[dict[str, Any]] = []

    def worker(event: dict[str, Any], context: FakeLambdaContext) -> dict[str, Any]:
        failures = []
        for record in event["Records"]:
            records_seen.append(record)
            if record["body"] == "poison":
                failures.append({"itemIdentifier": record["messageId"]})
            else:
                processed[record["body"]] += 1
        return {"batchItemFailures": failures}

    invoker = CallableInvoker({"Worker": worker})
    good_bodies = [f"job-{index}" for index in range(5)]
    for body in [*good_bodies[:2], "poison", *good_bodies[2:]]:
        sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=body,
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "job"}},
        )

    async def scenario() -> SqsEventSource:
        source = SqsEventSource(mapping, queue, invoker, endpoint_url=moto_endpoint, region=REGION)
        await source.start()
        try:
            deadline = time.monotonic() + 20
            # WHEN the pollers run until the poison message has been received MAX_RECEIVE_COUNT times
            while time.monotonic() < deadline:
                poison_receives = sum(1 for r in records_seen if r["body"] == "poison")
                if poison_receives >= MAX_RECEIVE_COUNT and processed.keys() == set(good_bodies):
                    break
                await asyncio.sleep(0.1)
            # (one more visibility timeout so the next receive moves the poison message to the DLQ)
            await asyncio.sleep(1.5)
        finally:
            await source.stop()
        return source

    source = asyncio.run(scenario())

    # THEN every good message was processed exactly once and deleted
    assert processed == Counter(good_bodies)
    # AND the poison message was retried up to maxReceiveCount, then redriven by SQS to the DLQ
    poison_records = [r for r in records_seen if r["body"] == "poison"]
    assert [r["attributes"]["ApproximateReceiveCount"] for r in poison_records] == ["1", "2"]
    in_dlq = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10).get("Messages", [])
    assert [message["Body"] for message in in_dlq] == ["poison"]
    left = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert left["ApproximateNumberOfMessages"] == left["ApproximateNumberOfMessagesNotVisible"] == "0"
    # AND the records had Lambda's shape
    record = records_seen[0]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == f"arn:aws:sqs:{REGION}:123456789012:work"
    assert record["messageAttributes"]["kind"]["stringValue"] == "job"
    assert source.stats.deleted == len(good_bodies)
    assert source.stats.failures == MAX_RECEIVE_COUNT


def test_function_error_keeps_the_whole_batch_and_success_deletes_it(moto_endpoint: str) -> None:
    # GIVEN a worker that crashes on its first invocation only, without ReportBatchItemFailures
    sqs = sqs_client(moto_endpoint)
    queue_url = sqs.create_queue(QueueName="plain", Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    queue = QueueSpec("PlainQueue", "plain", 1, 3600, 0, None, None)
    mapping = SqsMapping(function="Worker", queue="PlainQueue", batch_size=5)
    deliveries: list[list[str]] = []

    def worker(event: dict[str, Any], context: FakeLambdaContext) -> None:
        deliveries.append(sorted(record["body"] for record in event["Records"]))
        if len(deliveries) == 1:
            raise RuntimeError("cold database")

    for body in ("a", "b", "c"):
        sqs.send_message(QueueUrl=queue_url, MessageBody=body)

    async def scenario() -> SqsEventSource:
        source = SqsEventSource(
            mapping, queue, CallableInvoker({"Worker": worker}), endpoint_url=moto_endpoint
        )
        await source.start()
        try:
            deadline = time.monotonic() + 15
            while source.stats.deleted < 3 and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
        finally:
            await source.stop()
        return source

    source = asyncio.run(scenario())

    # THEN nothing was deleted after the error; after the visibility timeout all came back and were deleted
    delivered = sorted(body for batch in deliveries for body in batch)
    assert delivered == ["a", "a", "b", "b", "c", "c"]
    assert source.stats.deleted == 3
    left = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert left["ApproximateNumberOfMessages"] == left["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_pollers_scale_out_under_a_backlog_and_back_in(moto_endpoint: str) -> None:
    # GIVEN a backlog of 80 messages and a handler that takes 0.2 s per batch of 10
    sqs = sqs_client(moto_endpoint)
    queue_url = sqs.create_queue(QueueName="backlog")["QueueUrl"]
    for start in range(0, 80, 10):
        entries = [{"Id": str(i), "MessageBody": f"m{start + i}"} for i in range(10)]
        sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
    queue = QueueSpec("BacklogQueue", "backlog", 30, 3600, 0, None, None)
    mapping = SqsMapping(function="Worker", queue="BacklogQueue", batch_size=10, maximum_concurrency=4)
    seen: list[str] = []

    def worker(event: dict[str, Any], context: FakeLambdaContext) -> None:
        time.sleep(0.2)
        seen.extend(record["body"] for record in event["Records"])

    async def scenario() -> tuple[SqsEventSource, int]:
        source = SqsEventSource(
            mapping, queue, CallableInvoker({"Worker": worker}), endpoint_url=moto_endpoint
        )
        await source.start()
        try:
            deadline = time.monotonic() + 15
            while source.stats.deleted < 80 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            # idle pollers leave after an empty receive (1 s long poll)
            await asyncio.sleep(2.5)
            idle_pollers = source.stats.pollers
        finally:
            await source.stop()
        return source, idle_pollers

    # WHEN the mapping drains the queue
    source, idle_pollers = asyncio.run(scenario())

    # THEN it scaled out (bounded by MaximumConcurrency), processed everything, and scaled back in. A standard
    # queue delivers at least once (moto too can hand one message to two concurrent receives under load): the
    # count of distinct bodies is the poller's promise; running a handler's effect once is the inbox's
    # (tests/integration/test_inbox.py).
    assert set(seen) == {f"m{i}" for i in range(80)}
    assert len(seen) - 80 <= 10, f"{len(seen) - 80} redeliveries"
    assert 1 < source.stats.peak_pollers <= 4
    assert idle_pollers == 1


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (b"null", set()),
        (b"{}", set()),
        (b'{"batchItemFailures": []}', set()),
        (b'{"batchItemFailures": [{"itemIdentifier": "m2"}]}', {"m2"}),
        (b'{"batchItemFailures": [{"itemIdentifier": "unknown"}]}', {"m1", "m2"}),
        (b'{"batchItemFailures": [{"itemIdentifier": ""}]}', {"m1", "m2"}),
        (b'{"batchItemFailures": "m2"}', {"m1", "m2"}),
        (b'"ok"', {"m1", "m2"}),
    ],
)
def test_batch_item_failures_follow_lambdas_rules(response: bytes, expected: set[str]) -> None:
    assert failed_message_ids(response, ["m1", "m2"]) == expected
