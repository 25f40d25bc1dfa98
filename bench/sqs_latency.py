"""SQS send -> handler start latency of the local event-source mapping, against a bare long-poll baseline.

Both runs use the same moto server and send the same number of messages one at a time, spaced, so each
message finds an idle poller (the latency of a quiet system, not of a backlog). The baseline is a plain
`receive_message` long-poll loop with no poller machinery: the floor the emulator itself sets.

    .venv/bin/python bench/sqs_latency.py [--messages 200] [--spacing-ms 20]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import threading
import time
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from lamina_local.invoker import InvokeResult
from lamina_local.model import QueueSpec, SqsMapping
from lamina_local.sqs_poller import SqsEventSource

REGION = "us-east-1"
GOAL_P50_MS = 50.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def sqs_client(endpoint: str) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def send_spaced(endpoint: str, queue_url: str, count: int, spacing_s: float) -> dict[str, float]:
    """Sends `count` messages, one at a time; returns each body's send time."""
    client = sqs_client(endpoint)
    sent_at: dict[str, float] = {}
    for index in range(count):
        body = f"m{index}"
        sent_at[body] = time.perf_counter()
        client.send_message(QueueUrl=queue_url, MessageBody=body)
        time.sleep(spacing_s)
    return sent_at


def baseline(endpoint: str, queue_url: str, count: int, spacing_s: float) -> list[float]:
    """send -> receive latency of a bare long-poll loop in a thread."""
    received_at: dict[str, float] = {}
    stop = threading.Event()

    def consume() -> None:
        client = sqs_client(endpoint)
        while not stop.is_set():
            response = client.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            now = time.perf_counter()
            for message in response.get("Messages", []):
                received_at[message["Body"]] = now
                client.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    consumer = threading.Thread(target=consume)
    consumer.start()
    time.sleep(0.2)
    sent_at = send_spaced(endpoint, queue_url, count, spacing_s)
    deadline = time.monotonic() + 10
    while len(received_at) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    consumer.join()
    return [(received_at[body] - sent_at[body]) * 1000 for body in sent_at if body in received_at]


class RecordingInvoker:
    """Records when each message's handler would start; answers success at once."""

    def __init__(self) -> None:
        self.started_at: dict[str, float] = {}

    async def invoke(
        self, function: str, payload: bytes | dict[str, Any], *, client_context: Any = None
    ) -> Any:
        now = time.perf_counter()
        assert isinstance(payload, dict)
        for record in payload["Records"]:
            self.started_at[record["body"]] = now
        return InvokeResult(True, b"null", None, False, 0.0, "bench")


async def through_poller(endpoint: str, queue_url: str, count: int, spacing_s: float) -> list[float]:
    queue = QueueSpec("BenchQueue", "bench-mapped", 30, 3600, 0, None, None)
    mapping = SqsMapping(function="Worker", queue="BenchQueue", batch_size=10)
    invoker = RecordingInvoker()
    source = SqsEventSource(mapping, queue, invoker, endpoint_url=endpoint, region=REGION)
    await source.start()
    try:
        await asyncio.sleep(0.2)
        sent_at = await asyncio.to_thread(send_spaced, endpoint, queue_url, count, spacing_s)
        deadline = time.monotonic() + 10
        while len(invoker.started_at) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        await source.stop()
    return [
        (invoker.started_at[body] - sent_at[body]) * 1000 for body in sent_at if body in invoker.started_at
    ]


def summarize(label: str, latencies: list[float], expected: int) -> tuple[float, float]:
    p50, p99 = statistics.median(latencies), percentile(latencies, 0.99)
    print(f"{label:<28} n={len(latencies)}/{expected} p50={p50:7.2f} ms  p99={p99:7.2f} ms")
    return p50, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--spacing-ms", type=float, default=20.0)
    args = parser.parse_args()
    spacing_s = args.spacing_ms / 1000
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request access log

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        client = sqs_client(endpoint)
        bare_url = client.create_queue(QueueName="bench-bare")["QueueUrl"]
        mapped_url = client.create_queue(QueueName="bench-mapped")["QueueUrl"]

        bare = baseline(endpoint, bare_url, args.messages, spacing_s)
        mapped = asyncio.run(through_poller(endpoint, mapped_url, args.messages, spacing_s))
    finally:
        server.stop()

    bare_p50, bare_p99 = summarize("baseline receive loop", bare, args.messages)
    p50, p99 = summarize("event-source mapping", mapped, args.messages)
    print(f"ratio vs baseline: p50 x{p50 / bare_p50:.2f}  p99 x{p99 / bare_p99:.2f}")
    print(f"RESULT sqs_send_to_handler_p50_ms={p50:.2f} goal<={GOAL_P50_MS:g}")


if __name__ == "__main__":
    main()
