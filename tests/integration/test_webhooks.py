"""Webhooks end to end: events -> events worker fan-out -> webhooks worker -> a loopback receiver.

Real Postgres, moto SQS (delays and all) and KMS; the receiver is an HTTP server on 127.0.0.1 that fails,
hangs or dies on purpose. The retry schedule is scaled down by LAMINA_WEBHOOK_BACKOFF_SCALE.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from lamina.webhooks.signing import delivery_id, verify
from tests.integration.api_client import Tenant, api_env, cognito_pool, make_tenant, own_events_queue
from tests.support import LambdaContext, configure_library

__all__ = ["api_env", "cognito_pool", "make_tenant", "own_events_queue"]

SECRET = "whsec_test_" + "s" * 32
BACKOFF_SCALE = 0.0001  # the ~28 h schedule in ~10 s
TIMEOUT_S = 2.0
HANG_S = 3.0
DEAD_EVENTS = 12


@dataclass
class Receiver:
    """What the loopback receiver saw: every request, and the keys it accepted (answered 2xx)."""

    port: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    accepted: Counter[str] = field(default_factory=Counter)
    bad_signatures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    chance: random.Random = field(default_factory=lambda: random.Random(7))

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def on_path(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["path"] == path]


def _handler_class(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            signed = verify(SECRET, body, self.headers.get("X-Lamina-Signature", ""))
            key = self.headers.get("Idempotency-Key", "")
            with receiver.lock:
                receiver.requests.append(
                    {
                        "path": self.path,
                        "key": key,
                        "headers": dict(self.headers),
                        "body": body,
                        "at": time.time(),
                    }
                )
                receiver.bad_signatures += 0 if signed else 1
                roll = receiver.chance.random()
            if (self.path == "/flaky" and roll < 0.03) or self.path == "/dead":
                time.sleep(HANG_S)  # hangs past the worker's timeout, then fails
                self._answer(503)
            elif self.path == "/flaky" and roll < 0.31:
                self._answer(500)
            elif self.path == "/redirect":
                self._answer(302, {"Location": receiver.url("/ok")})
            else:
                with receiver.lock:
                    receiver.accepted[key] += 1
                self._answer(200)

        def _answer(self, status: int, headers: dict[str, str] | None = None) -> None:
            try:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:
                pass  # the worker gave up on a hung request

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(state))
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def webhooks_env(api_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """api_env plus a webhooks queue (and DLQ) of this test's own, loopback allowed, backoff scaled down."""
    from lamina import state

    sqs = state.current().aws_client("sqs")
    suffix = uuid.uuid4().hex[:8]
    dlq = sqs.create_queue(QueueName=f"lamina-test-webhooks-dlq-{suffix}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(
        QueueName=f"lamina-test-webhooks-{suffix}",
        Attributes={
            "VisibilityTimeout": "2",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}),
        },
    )["QueueUrl"]
    env = {
        **api_env,
        "WEBHOOKS_QUEUE_URL": queue,
        "WEBHOOKS_DLQ_URL": dlq,
        "LAMINA_OUTBOUND_ALLOW_LOOPBACK": "true",
        "LAMINA_WEBHOOK_BACKOFF_SCALE": str(BACKOFF_SCALE),
        "LAMINA_WEBHOOK_TIMEOUT_S": str(TIMEOUT_S),
    }
    configure_library(env)
    yield env


def drain(
    queue_url: str,
    handler: Callable[..., Any],
    *,
    until: Callable[[], bool],
    deadline_s: float,
    instances: int = 3,
) -> None:
    """Lambda's SQS poller in miniature, `instances` function instances at once: receive batches, invoke,
    delete what succeeded, until `until()` holds with the queue empty."""
    from lamina import aws

    sqs = aws.client("sqs")
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    deadline = time.monotonic() + deadline_s
    done = threading.Event()
    errors: list[BaseException] = []

    def instance() -> None:
        try:
            while not done.is_set() and time.monotonic() < deadline:
                messages = sqs.receive_message(
                    QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, AttributeNames=["All"]
                ).get("Messages", [])
                if not messages:
                    if until():
                        done.set()
                    time.sleep(0.05)
                    continue
                invoke(messages)
        except BaseException as error:
            errors.append(error)
            done.set()

    def invoke(messages: list[dict[str, Any]]) -> None:
        from lamina.queues.batch import BatchProcessingError

        records = [
            {
                "messageId": m["MessageId"],
                "body": m["Body"],
                "attributes": m["Attributes"],
                "eventSourceARN": arn,
            }
            for m in messages
        ]
        try:
            failed = {
                f["itemIdentifier"]
                for f in handler({"Records": records}, LambdaContext())["batchItemFailures"]
            }
        except BatchProcessingError:
            failed = {m["MessageId"] for m in messages}
        succeeded = [m for m in messages if m["MessageId"] not in failed]
        if succeeded:
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(succeeded)
                ],
            )

    threads = [threading.Thread(target=instance, daemon=True) for _ in range(instances)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    assert done.is_set(), f"{queue_url.rsplit('/', 1)[-1]} did not reach the expected state in time"


def stage_events(tenant: Tenant, count: int, event_type: str = "secrets.secret.created") -> list[uuid.UUID]:
    from lamina.db.unit_of_work import unit_of_work
    from lamina.events.outbox import stage_event

    with unit_of_work() as session:
        return [
            stage_event(
                session,
                event_type,
                {"secret_id": str(uuid.uuid4()), "name": f"s{index}"},
                project_id=uuid.UUID(tenant.project_id),
            )
            for index in range(count)
        ]


def stage_deliveries(tenant: Tenant, subscription_id: str, count: int) -> list[uuid.UUID]:
    """What the events worker's fan-out stages for `count` events and one subscription, in one transaction."""
    from lamina.db.base import utcnow
    from lamina.db.unit_of_work import unit_of_work
    from lamina.events.outbox import stage_message
    from lamina.queues.names import Queue
    from lamina.webhooks.delivery import DELIVERY_COMMAND, DeliveryCommand

    event_ids = [uuid.uuid4() for _ in range(count)]
    with unit_of_work() as session:
        for index, event_id in enumerate(event_ids):
            command = DeliveryCommand(
                subscription_id=uuid.UUID(subscription_id),
                event_id=event_id,
                event_type="secrets.secret.created",
                event_occurred_at=utcnow(),
                event_payload={"secret_id": str(uuid.uuid4()), "name": f"s{index}"},
            )
            stage_message(
                session,
                Queue.WEBHOOKS,
                DELIVERY_COMMAND,
                command.model_dump(mode="json"),
                project_id=uuid.UUID(tenant.project_id),
            )
    return event_ids


def fan_out(env: dict[str, str], event_ids: list[uuid.UUID]) -> None:
    """Run the events worker over the events queue until every staged event is recorded."""
    from sqlalchemy import func, select

    from lamina.db.unit_of_work import unit_of_work
    from lamina.events.models import EventRecord
    from lamina.events.worker import handler

    def all_recorded() -> bool:
        with unit_of_work() as session:
            found = session.execute(
                select(func.count()).select_from(EventRecord).where(EventRecord.id.in_(event_ids))
            ).scalar_one()
        return int(found) == len(event_ids)

    drain(env["EVENTS_QUEUE_URL"], handler, until=all_recorded, deadline_s=30)


def attempts_of(subscription_id: str) -> list[Any]:
    from sqlalchemy import select

    from lamina.db.unit_of_work import unit_of_work
    from lamina.webhooks.models import WebhookDeliveryAttempt as Attempt

    with unit_of_work() as session:
        return list(
            session.execute(
                select(Attempt)
                .where(Attempt.subscription_id == uuid.UUID(subscription_id))
                .order_by(Attempt.delivery_id, Attempt.attempt)
            ).scalars()
        )


def subscribe(tenant: Tenant, url: str, event_types: list[str], **extra: Any) -> dict[str, Any]:
    body = {"subscription": {"name": "hook", "data": {"url": url, "event_types": event_types}, **extra}}
    created: dict[str, Any] = tenant.client.post("/api/webhooks/subscriptions/", body).ok()["subscription"]
    return created


def test_500_events_through_a_flaky_receiver_arrive_under_one_key_each_signed_with_backoff(
    webhooks_env: dict[str, str], make_tenant: Callable[..., Tenant], receiver: Receiver
) -> None:
    from lamina.webhooks.worker import handler as webhooks_worker

    # GIVEN a subscription to a receiver that fails 30% of requests (1% by hanging past the timeout)
    tenant = make_tenant()
    flaky = subscribe(tenant, receiver.url("/flaky"), ["secrets.secret.created"], secret=SECRET)
    assert flaky["secret"] == SECRET  # shown once...
    fetched = tenant.client.get(f"/api/webhooks/subscriptions/{flaky['id']}").ok()["subscription"]
    assert fetched.get("secret") is None  # ...and never again

    # WHEN 500 events' deliveries are staged (as the events worker's fan-out does; the next test runs the
    # events worker itself) and delivered by three webhooks worker instances
    event_ids = stage_deliveries(tenant, flaky["id"], 500)
    keys = {str(delivery_id(event_id, uuid.UUID(flaky["id"]))): event_id for event_id in event_ids}
    drain(
        webhooks_env["WEBHOOKS_QUEUE_URL"],
        webhooks_worker,
        until=lambda: set(receiver.accepted) >= set(keys),
        deadline_s=90,
    )

    # THEN every event was accepted under its one idempotency key, every request signed correctly
    assert set(receiver.accepted) == set(keys)
    assert receiver.bad_signatures == 0
    for request in receiver.on_path("/flaky"):
        sent = json.loads(request["body"])
        assert str(keys[request["key"]]) == sent["id"] == request["headers"]["X-Lamina-Event-Id"]
        assert request["headers"]["X-Lamina-Delivery-Id"] == request["key"]
    # AND the log has one row per attempt, numbered, the last succeeded, each retry no earlier than scheduled
    attempts = attempts_of(flaky["id"])
    by_delivery: dict[uuid.UUID, list[Any]] = {}
    for row in attempts:
        by_delivery.setdefault(row.delivery_id, []).append(row)
    assert len(by_delivery) == 500
    retried = 0
    for rows in by_delivery.values():
        assert [row.attempt for row in rows] == list(range(1, len(rows) + 1))
        assert [row.status for row in rows] == ["retrying"] * (len(rows) - 1) + ["succeeded"]
        for before, after in itertools.pairwise(rows):
            assert before.next_attempt_at is not None and after.attempted_at >= before.next_attempt_at
        retried += len(rows) > 1
        # AND a key was accepted again only after an attempt the worker saw no answer to (its 2xx came after
        # the timeout: at least once, which the idempotency key absorbs), never after one it saw answered
        unanswered = sum(row.status_code is None for row in rows[:-1])
        assert receiver.accepted[str(rows[0].delivery_id)] <= 1 + unanswered
    assert retried > 50  # ~30% of first attempts fail
    assert any("Timeout" in (row.error or "") for row in attempts)  # the hangs were cut by the timeout
    # AND the delivery log is queryable through the API
    page = tenant.client.post(
        "/api/webhooks/deliveries/query",
        {"delivery": {"subscription_id": flaky["id"], "status": "succeeded"}},
    ).ok()
    assert page["count"] == 100  # the default window


def test_a_dead_receiver_ends_in_the_dlq_and_trips_its_breaker_without_slowing_the_others(
    webhooks_env: dict[str, str], make_tenant: Callable[..., Tenant], receiver: Receiver
) -> None:
    from lamina import aws
    from lamina.webhooks.delivery import WEBHOOK_MAX_ATTEMPTS
    from lamina.webhooks.worker import handler as webhooks_worker

    # GIVEN a receiver that always hangs then fails, and a healthy one, subscribed to the same events
    tenant = make_tenant()
    dead = subscribe(tenant, receiver.url("/dead"), ["secrets.*"], secret=SECRET)
    healthy = subscribe(tenant, receiver.url("/ok"), ["secrets.secret.created"], secret=SECRET)
    event_ids = stage_events(tenant, DEAD_EVENTS)

    # WHEN the events are delivered until every dead delivery is out of attempts
    fan_out(webhooks_env, event_ids)
    sqs = aws.client("sqs")

    def dlq_depth() -> int:
        attributes = sqs.get_queue_attributes(
            QueueUrl=webhooks_env["WEBHOOKS_DLQ_URL"], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])

    drain(
        webhooks_env["WEBHOOKS_QUEUE_URL"],
        webhooks_worker,
        until=lambda: dlq_depth() >= DEAD_EVENTS,
        deadline_s=45,
    )

    # THEN each dead delivery made every attempt and went to the DLQ, restarted at attempt 1 for a replay
    dead_rows = attempts_of(dead["id"])
    assert len(dead_rows) == DEAD_EVENTS * WEBHOOK_MAX_ATTEMPTS
    assert Counter(row.status for row in dead_rows) == {
        "retrying": DEAD_EVENTS * (WEBHOOK_MAX_ATTEMPTS - 1),
        "failed": DEAD_EVENTS,
    }
    dead_letters = sqs.receive_message(QueueUrl=webhooks_env["WEBHOOKS_DLQ_URL"], MaxNumberOfMessages=10)
    payload = json.loads(dead_letters["Messages"][0]["Body"])["payload"]
    assert payload["attempt"] == 1 and payload["subscription_id"] == dead["id"]
    # AND the breaker opened: most attempts failed fast without a request reaching the dead receiver
    short_circuited = sum("circuit open" in (row.error or "") for row in dead_rows)
    assert short_circuited > len(dead_rows) // 2
    assert len(receiver.on_path("/dead")) == len(dead_rows) - short_circuited
    state = tenant.client.get(f"/api/webhooks/subscriptions/{dead['id']}").ok()["subscription"]["breaker"]
    assert state["state"] in ("open", "half_open")
    # AND the healthy subscription got every event on its first attempt, quickly
    healthy_rows = attempts_of(healthy["id"])
    assert [row.status for row in healthy_rows] == ["succeeded"] * DEAD_EVENTS
    assert max(row.latency_ms for row in healthy_rows) < HANG_S * 1000 / 2


def test_ssrf_attempts_are_refused_and_the_test_endpoint_reports_them(
    webhooks_env: dict[str, str], make_tenant: Callable[..., Tenant], receiver: Receiver
) -> None:
    tenant = make_tenant()
    api = tenant.client
    # GIVEN loopback allowed (tests only): a redirect is answered, never followed
    redirect = subscribe(tenant, receiver.url("/redirect"), [], secret=SECRET)
    sent = api.post("/api/webhooks/subscriptions/test", {"subscription_id": redirect["id"]}).ok()["delivery"]
    assert sent["status"]["code"] == "failed" and sent["data"]["response"]["status_code"] == 302
    assert receiver.on_path("/ok") == [] and len(receiver.on_path("/redirect")) == 1
    assert json.loads(receiver.on_path("/redirect")[0]["body"])["type"] == "webhooks.subscriptions.tested"
    # AND a test delivery is replayed like any other: through the queue, with its event and idempotency key
    from lamina.webhooks.worker import handler as webhooks_worker

    healthy = subscribe(tenant, receiver.url("/replayed"), [], secret=SECRET)
    tested = api.post("/api/webhooks/subscriptions/test", {"subscription_id": healthy["id"]}).ok()["delivery"]
    assert tested["status"]["code"] == "succeeded"
    replayed = api.post(f"/api/webhooks/deliveries/{tested['id']}/replay", {}).ok()
    assert replayed["delivery_id"] == tested["delivery_id"]
    drain(
        webhooks_env["WEBHOOKS_QUEUE_URL"],
        webhooks_worker,
        until=lambda: len(receiver.on_path("/replayed")) == 2,
        deadline_s=30,
    )
    first, again = receiver.on_path("/replayed")
    assert first["key"] == again["key"] == tested["delivery_id"] and first["body"] == again["body"]
    # AND custom headers may not override system headers
    clash = {"subscription": {"data": {"url": receiver.url("/ok"), "headers": {"X-Lamina-Signature": "x"}}}}
    assert api.post("/api/webhooks/subscriptions/", clash).status == 422

    # GIVEN loopback not allowed (as in every deployed stage)
    configure_library({**webhooks_env, "LAMINA_OUTBOUND_ALLOW_LOOPBACK": "false"})
    # WHEN subscriptions name private, loopback or metadata addresses THEN they are refused outright
    for url in (
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/hook",
        "http://[::ffff:127.0.0.1]/hook",
        receiver.url("/ok"),
        "file:///etc/passwd",
    ):
        answer = api.post("/api/webhooks/subscriptions/", {"subscription": {"data": {"url": url}}})
        assert answer.status == 422, url
    # AND a DNS name that resolves to loopback is accepted as a URL but refused when sending
    by_name = subscribe(tenant, receiver.url("/ok", host="localhost"), [], secret=SECRET)
    sent = api.post("/api/webhooks/subscriptions/test", {"subscription_id": by_name["id"]}).ok()["delivery"]
    assert sent["status"]["code"] == "failed" and "loopback" in sent["data"]["error"]
    assert receiver.on_path("/ok") == []


WORKER_KILLED_MID_REQUEST = """
import json, sys
from lamina.webhooks.worker import handler

handler(json.loads(sys.argv[1]), None)  # no context: a 15-minute lease
"""


def test_a_batch_whose_worker_was_killed_mid_request_is_taken_over_at_once(
    webhooks_env: dict[str, str], make_tenant: Callable[..., Tenant], receiver: Receiver
) -> None:
    from lamina.db.base import utcnow
    from lamina.queues.envelope import Envelope
    from lamina.webhooks.delivery import DELIVERY_COMMAND, DeliveryCommand
    from lamina.webhooks.worker import handler as webhooks_worker

    # GIVEN a delivery whose worker process is SIGKILLed while its request hangs on the receiver
    tenant = make_tenant()
    dead = subscribe(tenant, receiver.url("/dead"), ["secrets.*"], secret=SECRET)
    command = DeliveryCommand(
        subscription_id=uuid.UUID(dead["id"]),
        event_id=uuid.uuid4(),
        event_type="secrets.secret.created",
        event_occurred_at=utcnow(),
        event_payload={"secret_id": str(uuid.uuid4()), "name": "killed"},
    )
    envelope = Envelope(
        type=DELIVERY_COMMAND,
        payload=command.model_dump(mode="json"),
        project_id=uuid.UUID(tenant.project_id),
    )
    record = {
        "messageId": str(uuid.uuid4()),
        "body": envelope.to_body(),
        "attributes": {},
        "eventSourceARN": "",
    }
    event = {"Records": [record]}
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER_KILLED_MID_REQUEST, json.dumps(event)],
        env={**os.environ, **webhooks_env},
    )
    try:
        deadline = time.monotonic() + 30
        while not receiver.on_path("/dead"):
            assert worker.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)

        # WHILE that worker runs it, a duplicate of the message arrives in another worker's batch: that record
        # fails alone, at once (no waiting on the first batch's open transaction), and is not sent twice
        ok = subscribe(tenant, receiver.url("/ok"), ["secrets.*"], secret=SECRET)
        other = Envelope(
            type=DELIVERY_COMMAND,
            payload=command.model_copy(
                update={"subscription_id": uuid.UUID(ok["id"]), "event_id": uuid.uuid4()}
            ).model_dump(mode="json"),
            project_id=uuid.UUID(tenant.project_id),
        )
        other_record = {**record, "messageId": str(uuid.uuid4()), "body": other.to_body()}
        started = time.monotonic()
        duplicate = webhooks_worker({"Records": [record, other_record]}, None)
        assert duplicate == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
        assert time.monotonic() - started < HANG_S  # did not wait for the hung request
        assert len(receiver.on_path("/dead")) == 1 and len(receiver.on_path("/ok")) == 1
    finally:
        worker.kill()
        worker.wait()

    # WHEN SQS delivers the message again, long before the dead worker's 15-minute lease would end
    result = webhooks_worker(event, None)

    # THEN this worker took the claim over and made the attempt (logged, its retry staged)
    assert result == {"batchItemFailures": []}
    assert len(receiver.on_path("/dead")) == 2
    assert [(row.attempt, row.status) for row in attempts_of(dead["id"])] == [(1, "retrying")]


@dataclass
class ShortLivedContext:
    """A Lambda context with `seconds` left to live."""

    seconds: float

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


def test_a_batch_never_starts_a_request_that_could_outlive_its_invocation(
    webhooks_env: dict[str, str], make_tenant: Callable[..., Tenant], receiver: Receiver
) -> None:
    from lamina import aws
    from lamina.db.base import utcnow
    from lamina.queues.envelope import Envelope
    from lamina.webhooks.delivery import DELIVERY_COMMAND, DeliveryCommand
    from lamina.webhooks.sender import WEBHOOK_BATCH_CONCURRENCY
    from lamina.webhooks.worker import BATCH_RECORDING_RESERVE_S
    from lamina.webhooks.worker import handler as webhooks_worker

    # GIVEN a batch larger than the worker's concurrency, all to a receiver that hangs past the timeout, and an
    # invocation with time for one wave of requests only
    tenant = make_tenant()
    dead = subscribe(tenant, receiver.url("/dead"), ["secrets.*"], secret=SECRET)
    count = WEBHOOK_BATCH_CONCURRENCY + 2
    records = []
    for index in range(count):
        command = DeliveryCommand(
            subscription_id=uuid.UUID(dead["id"]),
            event_id=uuid.uuid4(),
            event_type="secrets.secret.created",
            event_occurred_at=utcnow(),
            event_payload={"secret_id": str(uuid.uuid4()), "name": f"s{index}"},
        )
        body = Envelope(
            type=DELIVERY_COMMAND,
            payload=command.model_dump(mode="json"),
            project_id=uuid.UUID(tenant.project_id),
        ).to_body()
        records.append({"messageId": str(uuid.uuid4()), "body": body, "attributes": {}, "eventSourceARN": ""})
    context = ShortLivedContext(BATCH_RECORDING_RESERVE_S + TIMEOUT_S + TIMEOUT_S / 2)

    # WHEN the worker runs it
    started = time.monotonic()
    result = webhooks_worker({"Records": records}, context)

    # THEN it sent one wave and returned in time, every record accounted for
    assert result == {"batchItemFailures": []}
    assert time.monotonic() - started < context.seconds
    assert len(receiver.on_path("/dead")) == WEBHOOK_BATCH_CONCURRENCY
    attempts = attempts_of(dead["id"])
    assert [(row.attempt, row.status) for row in attempts] == [(1, "retrying")] * WEBHOOK_BATCH_CONCURRENCY
    # AND the rest were sent on again as they were (not an attempt: attempt 1, not delayed)
    sqs = aws.client("sqs")
    logged = {row.event_id for row in attempts}
    postponed: dict[uuid.UUID, DeliveryCommand] = {}
    deadline = time.monotonic() + 10
    while len(postponed) < count - WEBHOOK_BATCH_CONCURRENCY and time.monotonic() < deadline:
        for message in sqs.receive_message(
            QueueUrl=webhooks_env["WEBHOOKS_QUEUE_URL"], MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", []):
            command = DeliveryCommand.model_validate(json.loads(message["Body"])["payload"])
            if command.event_id not in logged:
                postponed[command.event_id] = command
    assert [(command.attempt, command.not_before) for command in postponed.values()] == [(1, None)] * 2
