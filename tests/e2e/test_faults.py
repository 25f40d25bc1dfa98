"""Faults under `lamina up` with its embedded backends: Redis killed under load, Postgres killed and restarted by
the supervisor, the supervisor itself SIGKILLed and booted again.

Throughout: every answer is 2xx, or 503/504 with a message and Retry-After (never a 500); every valid event
is recorded exactly once; nothing accepted (a queued message, a dead letter, an S3 object) is lost; the stack
recovers without a restart. One stack for the module; the tests run in order.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.stack_process import StackProcess, scratch_state_dir, wait_until

RECOVERY_TIMEOUT_S = 60
EVENTS_TIMEOUT_S = 90
LARGE_OBJECT_BYTES = 6 * 1024 * 1024


@pytest.fixture(scope="module")
def stack() -> Iterator[StackProcess]:
    running = StackProcess(scratch_state_dir())
    try:
        running.boot()
        yield running
    finally:
        running.stop()
        shutil.rmtree(running.state_dir, ignore_errors=True)


class Load:
    """Authenticated API requests in a loop, every answer kept, while a fault happens."""

    def __init__(self, stack: StackProcess) -> None:
        self.stack = stack
        self.answers: Counter[int] = Counter()
        self.bad: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(headers=self.stack.headers, timeout=60) as client:
            while not self._stop.is_set():
                response = client.get(f"{self.stack.api}/api/projects/current")
                self.answers[response.status_code] += 1
                if response.status_code >= 500 and not (
                    response.status_code in (503, 504)
                    and response.json().get("message")
                    and response.headers.get("retry-after")
                ):
                    self.bad.append(f"{response.status_code} {response.text[:200]}")
                time.sleep(0.05)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=90)


def backend_restarts(stack: StackProcess, name: str) -> int:
    part = stack.status()["backends"][name]
    return int(part["restarts"]) if part["state"] == "running" else -1


def tracebacks_since(stack: StackProcess, offset: int) -> str:
    """The first traceback logged after `offset`, with its context; empty when there is none.

    A failed invocation (a worker whose whole batch failed, the cron function while Postgres is away) is
    reported by the runtime as `[ERROR] <type>: <message>` with its traceback: one per failed invocation, as
    Lambda does, and not the per-request noise this checks for.
    """
    lines = stack.log.read_text(errors="replace")[offset:].splitlines()
    for index, line in enumerate(lines):
        if "Traceback" in line and not any(
            "[ERROR]" in previous for previous in lines[max(0, index - 3) : index]
        ):
            return "\n".join(lines[max(0, index - 5) : index + 30])
    return ""


def test_redis_killed_under_load_is_restarted_and_no_event_is_lost(stack: StackProcess) -> None:
    # GIVEN a stack serving requests and consuming events
    assert stack.get("/api/projects/current").status_code == 200
    log_offset = len(stack.log.read_text(errors="replace"))
    with Load(stack) as load:
        before = stack.send_valid_events(3)
        # WHEN its Redis is killed
        stack.kill_redis()
        during = stack.send_valid_events(3)
        # THEN the supervisor restarts it, and the stack serves normally again without a restart
        assert wait_until(lambda: backend_restarts(stack, "redis") >= 1, RECOVERY_TIMEOUT_S) is not None
        assert wait_until(lambda: stack.get("/api/health").status_code == 200, RECOVERY_TIMEOUT_S) is not None
    # ... every answer during the outage was 2xx or a retryable 503/504 with a message
    assert not load.bad, load.bad[:3]
    assert load.answers[200] > 0
    # ... workers never needed Redis: every valid event recorded exactly once (the table is keyed by envelope)
    assert stack.wait_recorded(before + during, EVENTS_TIMEOUT_S) == 6
    # ... and the outage was logged as lines, not a traceback per request
    assert not tracebacks_since(stack, log_offset), tracebacks_since(stack, log_offset)
    assert "supervisor | redis restarted" in stack.log.read_text(errors="replace")


def test_postgres_killed_answers_503_then_recovers(stack: StackProcess) -> None:
    # GIVEN a stack under load
    log_offset = len(stack.log.read_text(errors="replace"))
    with Load(stack) as load:
        # WHEN its Postgres is killed
        stack.kill_postgres()
        during = stack.send_valid_events(3)
        # THEN it is restarted, and requests succeed again
        assert wait_until(lambda: backend_restarts(stack, "postgres") >= 1, RECOVERY_TIMEOUT_S) is not None
        assert wait_until(lambda: stack.get("/api/projects/current").status_code == 200, RECOVERY_TIMEOUT_S)
    assert not load.bad, load.bad[:3]
    assert load.answers[200] > 0
    # ... events sent during the outage are retried by SQS until they are recorded, once
    assert stack.wait_recorded(during, EVENTS_TIMEOUT_S) == 3
    assert not tracebacks_since(stack, log_offset), tracebacks_since(stack, log_offset)


def test_sigkill_of_the_supervisor_loses_nothing_accepted(stack: StackProcess) -> None:
    # GIVEN accepted work: an S3 object (a large one too), a dead letter, and events on their queue
    s3 = stack.aws("s3")
    bucket = next(b["Name"] for b in s3.list_buckets()["Buckets"])
    large = os.urandom(LARGE_OBJECT_BYTES)
    s3.put_object(Bucket=bucket, Key="faults/large.bin", Body=large)
    s3.put_object(Bucket=bucket, Key="faults/small.json", Body=b"{}")
    sqs = stack.aws("sqs")
    dlq = sqs.get_queue_url(QueueName=stack.state["queues"]["EventsDeadLetterQueue"])["QueueUrl"]
    sqs.send_message(QueueUrl=dlq, MessageBody="a dead letter to inspect")
    # ... and events on their queue, the worker's handler in flight on one of them (it claimed the envelope and
    # waits inside its transaction) when the kill lands
    with stack.events_handler_held():
        events = stack.send_valid_events(5)
        assert wait_until(lambda: stack.claims_in_progress(events) >= 1, RECOVERY_TIMEOUT_S) is not None

        # WHEN the supervisor is SIGKILLed right after, and booted again on the same state folder
        stack.sigkill()
    stack.boot()

    # THEN every object, the dead letter and every event survived; the events are recorded exactly once, the
    # one in flight too: its claim died with its consumer, and is taken over at once (not after its lease and
    # the queue's 240 s visibility timeout)
    s3, sqs = stack.aws("s3"), stack.aws("sqs")
    assert s3.get_object(Bucket=bucket, Key="faults/large.bin")["Body"].read() == large
    assert s3.get_object(Bucket=bucket, Key="faults/small.json")["Body"].read() == b"{}"
    dlq = sqs.get_queue_url(QueueName=stack.state["queues"]["EventsDeadLetterQueue"])["QueueUrl"]
    bodies = [m["Body"] for m in sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]]
    assert "a dead letter to inspect" in bodies
    assert stack.wait_recorded(events, EVENTS_TIMEOUT_S) == 5
    assert stack.get("/api/projects/current").status_code == 200


def test_a_poison_message_goes_straight_to_the_dlq_with_its_reason(stack: StackProcess) -> None:
    # GIVEN a message on the events queue that is not an envelope
    sqs = stack.aws("sqs")
    queue, dlq = (
        sqs.get_queue_url(QueueName=stack.state["queues"][name])["QueueUrl"]
        for name in ("EventsQueue", "EventsDeadLetterQueue")
    )
    sqs.send_message(QueueUrl=queue, MessageBody='{"not": "an envelope"}')

    # WHEN the worker gets it; THEN it is in the DLQ within seconds (not 5 receives later), with the reason
    found: list[dict[str, Any]] = []

    def dead_lettered() -> bool:
        messages = sqs.receive_message(
            QueueUrl=dlq, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=1
        ).get("Messages", [])
        found.extend(message for message in messages if "an envelope" in message["Body"])
        return bool(found)

    assert wait_until(dead_lettered, 30, interval_s=0.5) is not None
    reason = found[0]["MessageAttributes"]["lamina_dead_letter_reason"]["StringValue"]
    assert reason.startswith("PoisonMessageError: not a Lamina envelope")


def test_the_state_folder_holds_the_emulator_and_no_temporary_redis_folder_leaks(stack: StackProcess) -> None:
    aws = stack.state_dir / "aws"
    assert (aws / "snapshot.pickle").exists()
    assert any(aws.glob("wal-*.log"))
    assert Path(stack.state["redis_url"].removeprefix("unix://")).exists()
