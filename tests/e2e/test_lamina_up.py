"""`lamina up` end to end: the real template, every function under awslambdaric, real HTTP, real SQS polling.

One stack is started for the module (its own moto; Postgres and Redis from the test fixtures) and the tests
run against it in order; the last one stops it and checks nothing is left behind.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from lamina.queues import Envelope
from tests.support import ROOT

BOOT_TIMEOUT_S = 90
LAMINA = [sys.executable, "-m", "lamina_local.cli"]


@dataclass
class RunningStack:
    process: subprocess.Popen[bytes]
    state_dir: Path
    state: dict[str, Any]
    env: dict[str, str]
    log: Path

    @property
    def api(self) -> str:
        return str(self.state["api_url"])

    def cli(self, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [*LAMINA, "--state-dir", str(self.state_dir), *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            timeout=60,
            check=False,
        )

    def sqs(self) -> Any:
        import boto3

        return boto3.session.Session(
            region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
        ).client("sqs", endpoint_url=self.state["aws_endpoint_url"])

    def status(self) -> dict[str, Any]:
        result = self.cli("status", "--json")
        assert result.returncode == 0, result.stderr
        status: dict[str, Any] = json.loads(result.stdout)
        return status

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def wait_for(condition: Any, timeout_s: float, what: str, stack: RunningStack | None = None) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}" + (f"\n{stack.log_tail()}" if stack else ""))


@pytest.fixture(scope="module")
def stack(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningStack]:
    state_dir = tmp_path_factory.mktemp("lamina-up")
    log = state_dir / "up.log"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "LAMINA_", "COGNITO_")) and key not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(DATABASE_URL=database_url, REDIS_URL=redis_url, PYTHONUNBUFFERED="1")
    with open(log, "wb") as output:
        process = subprocess.Popen(
            # As the README shows it: --state-dir after the command (the companion commands put it before).
            [*LAMINA, "up", "--port", "0", "--no-watch", "--state-dir", str(state_dir)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    running = RunningStack(process, state_dir, {}, env, log)
    try:
        state_file = state_dir / "up.json"
        wait_for(
            lambda: state_file.exists() or process.poll() is not None, BOOT_TIMEOUT_S, "the stack", running
        )
        assert process.poll() is None, f"lamina up exited early\n{running.log_tail()}"
        running.state = json.loads(state_file.read_text())
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def test_health_is_public_and_reports_every_backend(stack: RunningStack) -> None:
    response = httpx.get(f"{stack.api}/api/health", timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["apigw-requestid"]
    assert {name: check["status"] for name, check in response.json()["checks"].items()} == {
        "database": "ok",
        "redis": "ok",
        "s3": "ok",
    }


def test_protected_routes_take_a_cognito_token_from_the_emulated_pool(stack: RunningStack) -> None:
    # GIVEN no credential, a forged one, and a real access token of the seeded local user
    token = stack.cli("token")
    assert token.returncode == 0, token.stderr.decode()
    access_token = token.stdout.decode().strip()
    # WHEN a protected route is called with each
    missing = httpx.get(f"{stack.api}/api/projects/current", timeout=30)
    forged = httpx.get(
        f"{stack.api}/api/projects/current", headers={"Authorization": "Bearer x.y.z"}, timeout=30
    )
    valid = httpx.get(
        f"{stack.api}/api/projects/current", headers={"Authorization": f"Bearer {access_token}"}, timeout=30
    )
    # THEN only the real token gets through the gateway's authorizer and the app's own check
    assert missing.status_code == 401
    assert forged.status_code in (401, 403)
    assert valid.status_code == 200, valid.text
    assert valid.json()
    # AND the authorizer's structured log of the refusal is printed as a short readable line, not as JSON
    refusal = re.compile(r"AuthorizerFunction \| \d\d:\d\d:\d\d\.\d{3} INFO ")
    wait_for(
        lambda: refusal.search(stack.log.read_text(errors="replace")), 10, "the refusal's log line", stack
    )
    assert '| {"level"' not in stack.log.read_text(errors="replace")


def test_sqs_partial_failure_redelivery_and_dead_letter(stack: RunningStack) -> None:
    from sqlalchemy import create_engine, text

    from lamina.db.engine import sqlalchemy_url

    sqs = stack.sqs()
    queue_url = sqs.get_queue_url(QueueName="lamina-events")["QueueUrl"]
    dlq_url = sqs.get_queue_url(QueueName="lamina-events-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    # GIVEN the events queue with a short visibility timeout and two receives before its DLQ (test speed only)
    sqs.set_queue_attributes(
        QueueUrl=queue_url,
        Attributes={
            "VisibilityTimeout": "1",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}),
        },
    )
    # A receive already waiting when the attributes change still uses the old timeout: let it return.
    time.sleep(3)
    marker = f"e2e-{time.time_ns()}"
    good = [Envelope(type="e2e.test.happened", payload={"marker": marker, "n": n}) for n in range(3)]
    # WHEN good envelopes and a poison message share the queue (and so, batches)
    sqs.send_message(QueueUrl=queue_url, MessageBody="{poison")
    for envelope in good:
        sqs.send_message(QueueUrl=queue_url, MessageBody=envelope.to_body())

    # THEN the good ones are recorded once each by the events worker ...
    engine = create_engine(sqlalchemy_url(stack.env["DATABASE_URL"]))

    def recorded() -> int:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    text("SELECT count(*) FROM events WHERE payload->>'marker' = :m"), {"m": marker}
                ).scalar_one()
            )

    wait_for(lambda: recorded() == 3, 30, "the events worker to record the good events", stack)

    # ... and the poison one, retried, ends in the dead-letter queue
    def in_dlq() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
            "Messages", []
        )
        return [m for m in messages if m["Body"] == "{poison"]

    wait_for(in_dlq, 30, "the poison message in the DLQ", stack)
    assert recorded() == 3
    engine.dispose()
    events_worker = stack.status()["functions"]["EventsWorkerFunction"]
    assert events_worker["invocations"] >= 2  # the poison message was delivered again
    # AND `lamina dlq` lists and replays it
    listed = stack.cli("dlq", "list", "events")
    assert listed.returncode == 0 and b"{poison" in listed.stdout, listed.stderr
    # Only the poison message is there; a standard queue may hand it to two receives at once under load
    # (moto's does), and each dead-letters it, so it can be there twice.
    dead_lettered = listed.stdout.decode().strip().splitlines()
    assert dead_lettered and all(line.endswith("{poison") for line in dead_lettered), listed.stdout
    replayed = stack.cli("dlq", "replay", "events")
    assert replayed.returncode == 0, replayed.stderr
    assert f"replayed {len(dead_lettered)} message(s)".encode() in replayed.stdout, replayed.stdout


def test_invoke_runs_a_generated_event_through_the_real_handler(stack: RunningStack) -> None:
    event = stack.cli("events", "generate", "http", "--path", "/api/health")
    assert event.returncode == 0
    result = stack.cli("invoke", "ApiFunction", "--event", "-", stdin=event.stdout)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["statusCode"] == 200


def test_the_schedule_fires_on_its_own(stack: RunningStack) -> None:
    # CronFunction's `rate(1 minute)` schedule fires a minute after boot, without being asked.
    def fired() -> bool:
        return bool(stack.status()["functions"]["CronFunction"]["invocations"] >= 1)

    wait_for(fired, 75, "the rate(1 minute) schedule", stack)


def test_ctrl_c_stops_everything_and_leaves_no_process(stack: RunningStack) -> None:
    supervisor = psutil.Process(stack.process.pid)
    children = supervisor.children(recursive=True)
    assert len(children) >= 5  # moto, the zygote, workers, the runner
    postmaster_pid_file = Path(stack.state_dir) / "postgres" / "postmaster.pid"
    embedded_postgres = (
        int(postmaster_pid_file.read_text().split()[0]) if postmaster_pid_file.exists() else None
    )
    stack.process.send_signal(signal.SIGINT)
    assert stack.process.wait(timeout=30) == 0, stack.log_tail()
    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == [], [p.info for p in alive] if alive else None
    if embedded_postgres is not None:
        assert not psutil.pid_exists(embedded_postgres)
    assert not (stack.state_dir / "up.json").exists()
