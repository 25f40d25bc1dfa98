"""The transactional inbox: each envelope takes effect once per queue, through real SQS (moto) and Postgres.

The handlers here append to a list (an effect outside the database, which nothing else deduplicates) and
record the event (a database effect, which must commit together with its inbox record).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from tests.integration.test_events_worker import events_queue, receive_as_lambda_event
from tests.support import LambdaContext

__all__ = ["events_queue"]

TYPE = "secrets.secret.created"


def stage_committed_event(project_id: uuid.UUID) -> uuid.UUID:
    """A change's event, staged in its unit of work and published by the commit (the request's own publish)."""
    from lamina.db.unit_of_work import unit_of_work
    from lamina.events.outbox import stage_event

    with unit_of_work() as session:
        return stage_event(
            session, TYPE, {"secret_id": str(uuid.uuid4()), "name": "openai"}, project_id=project_id
        )


def resend_as_the_outbox_flush_would(body: str) -> None:
    """The request's publish reached SQS but the delete of its outbox row never committed (a timeout): the row
    is still there, and the cron's flush sends the same envelope again, under a new SQS message id."""
    from lamina.db.base import utcnow
    from lamina.db.unit_of_work import unit_of_work
    from lamina.events.outbox import OutboxEvent, flush_outbox
    from lamina.queues import Envelope

    envelope = Envelope.from_body(body)
    with unit_of_work() as session:
        session.add(
            OutboxEvent(
                id=envelope.id,
                project_id=envelope.project_id,
                type=envelope.type,
                payload=envelope.payload,
                occurred_at=utcnow() - timedelta(minutes=5),
            )
        )
    assert flush_outbox()["events_published"] >= 1


def counting_worker(
    runs: list[uuid.UUID], fail_first: int = 0, gate: Callable[[], None] | None = None
) -> Any:
    """The events worker's shape with a handler that records the event and counts its runs."""
    from lamina.events.service import record_event
    from lamina.queues import Queue
    from lamina.queues.worker import queue_worker

    def handle(envelope: Any, session: Any) -> None:
        runs.append(envelope.id)
        if gate is not None:
            gate()
        record_event(envelope, session)
        if len(runs) <= fail_first:
            raise RuntimeError("the provider answered 503")

    return queue_worker(Queue.EVENTS, {"*": handle})


def inbox_row(envelope_id: uuid.UUID) -> Any:
    from sqlalchemy import select

    from lamina.db.unit_of_work import unit_of_work
    from lamina.queues.inbox import InboxMessage

    with unit_of_work() as session:
        return session.execute(
            select(InboxMessage).where(
                InboxMessage.queue == "events", InboxMessage.envelope_id == envelope_id
            )
        ).scalar_one_or_none()


def events_recorded(envelope_id: uuid.UUID) -> int:
    from sqlalchemy import func, select

    from lamina.db.unit_of_work import unit_of_work
    from lamina.events.models import EventRecord

    with unit_of_work() as session:
        return int(
            session.execute(
                select(func.count()).select_from(EventRecord).where(EventRecord.id == envelope_id)
            ).scalar_one()
        )


def test_an_envelope_resent_under_a_new_message_id_runs_its_handler_once(
    events_queue: str, lambda_context: LambdaContext
) -> None:
    # GIVEN an event published by its request, handled by the events worker
    envelope_id = stage_committed_event(uuid.uuid4())
    first = receive_as_lambda_event(events_queue, expected=1)
    runs: list[uuid.UUID] = []
    assert counting_worker(runs)(first, lambda_context) == {"batchItemFailures": []}
    # AND the outbox flush sending the same envelope again (the request's delete of its row had not committed)
    resend_as_the_outbox_flush_would(first["Records"][0]["body"])
    second = receive_as_lambda_event(events_queue, expected=1)
    assert [r["messageId"] for r in second["Records"]] != [r["messageId"] for r in first["Records"]]
    assert str(envelope_id) in second["Records"][0]["body"]

    # WHEN the worker receives the re-sent message
    response = counting_worker(runs)(second, lambda_context)

    # THEN it is acknowledged without running the handler again: one run, one record, one completed inbox row
    assert response == {"batchItemFailures": []}
    assert runs == [envelope_id]
    assert events_recorded(envelope_id) == 1
    row = inbox_row(envelope_id)
    assert (row.status, row.attempts, row.type) == ("completed", 1, TYPE)


def test_a_failed_handler_releases_its_claim_and_the_redelivery_runs_it_again(
    events_queue: str, lambda_context: LambdaContext
) -> None:
    from lamina.queues import BatchProcessingError

    # GIVEN a handler whose first run fails after its database effect
    envelope_id = stage_committed_event(uuid.uuid4())
    runs: list[uuid.UUID] = []
    worker = counting_worker(runs, fail_first=1)
    # WHEN it handles the message (a batch of one that failed: the whole batch goes back)
    with pytest.raises(BatchProcessingError):
        worker(receive_as_lambda_event(events_queue, expected=1), lambda_context)
    # THEN the effect rolled back with the claim released, not completed
    assert events_recorded(envelope_id) == 0
    row = inbox_row(envelope_id)
    assert row.status == "in_progress" and "503" in row.last_error
    # WHEN SQS redelivers it (after the visibility timeout), and it is then delivered once more
    redelivered = receive_as_lambda_event(events_queue, expected=1)
    assert redelivered["Records"][0]["attributes"]["ApproximateReceiveCount"] == "2"
    assert worker(redelivered, lambda_context) == {"batchItemFailures": []}
    assert worker(redelivered, lambda_context) == {"batchItemFailures": []}
    # THEN the retry ran it again, and from then on it is recorded once and never run again
    assert runs == [envelope_id, envelope_id]
    assert events_recorded(envelope_id) == 1
    row = inbox_row(envelope_id)
    assert (row.status, row.attempts, row.last_error) == ("completed", 2, None)


def test_a_database_effect_and_its_inbox_record_commit_together(stack_env: dict[str, str]) -> None:
    from lamina.db.unit_of_work import unit_of_work
    from lamina.events.service import record_event
    from lamina.queues import Envelope, Queue
    from lamina.queues.inbox import LeaseLostError, claim, complete, process_once

    envelope = Envelope(type=TYPE, payload={"secret_id": str(uuid.uuid4()), "name": "x"})

    # GIVEN a handler that crashes after its database effect, before the inbox could record it
    def crash_after_effect(envelope: Envelope, session: Any) -> None:
        record_event(envelope, session)
        raise KeyboardInterrupt  # the process dies here

    # WHEN it runs THEN neither the effect nor a completed record survives: the retry will run it in full
    with pytest.raises(KeyboardInterrupt):
        process_once(Queue.EVENTS, envelope, crash_after_effect)
    assert events_recorded(envelope.id) == 0
    assert inbox_row(envelope.id).status == "in_progress"

    # GIVEN a slow consumer whose lease expired and was taken over by another consumer that completed
    slow_token = claim(Queue.EVENTS, envelope, lease_s=1)
    assert slow_token is not None
    time.sleep(1.2)
    assert process_once(Queue.EVENTS, envelope, record_event) is True
    # WHEN the slow consumer finishes its effect THEN its commit is refused (fenced), so it counts once
    with pytest.raises(LeaseLostError), unit_of_work() as session:
        record_event(envelope.model_copy(update={"id": uuid.uuid4()}), session)
        complete(session, Queue.EVENTS, envelope.id, slow_token)
    assert events_recorded(envelope.id) == 1
    assert inbox_row(envelope.id).status == "completed"


CONSUMER_KILLED_MID_HANDLER = """
import sys, time
from lamina.queues import Envelope, Queue
from lamina.queues.inbox import process_once

def handle(envelope, session):
    print("running", flush=True)
    time.sleep(600)

process_once(Queue.EVENTS, Envelope.from_body(sys.argv[1]), handle, lease_s=600)
"""


def test_a_claim_whose_consumer_died_is_taken_over_at_once(stack_env: dict[str, str]) -> None:
    from lamina.events.service import record_event
    from lamina.queues import Envelope, Queue
    from lamina.queues.inbox import EnvelopeInProgressError, process_once

    # GIVEN a consumer process SIGKILLed in the middle of its handler, its claim's lease 10 minutes from over
    envelope = Envelope(type=TYPE, payload={"secret_id": str(uuid.uuid4()), "name": "openai"})
    consumer = subprocess.Popen(
        [sys.executable, "-c", CONSUMER_KILLED_MID_HANDLER, envelope.to_body()],
        env={**os.environ, **stack_env},
        stdout=subprocess.PIPE,
    )
    try:
        assert consumer.stdout is not None and consumer.stdout.readline() == b"running\n"
        assert inbox_row(envelope.id).status == "in_progress"
    finally:
        consumer.kill()
        consumer.wait()

    # WHEN the envelope is delivered again, within seconds (Postgres ends the dead consumer's transaction
    # as soon as it sees the connection close)
    runs: list[uuid.UUID] = []

    def handle(envelope: Envelope, session: Any) -> None:
        runs.append(envelope.id)
        record_event(envelope, session)

    deadline = time.monotonic() + 5
    while True:
        try:
            ran = process_once(Queue.EVENTS, envelope, handle)
            break
        except EnvelopeInProgressError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)

    # THEN the claim is taken over and the handler runs to completion, once
    assert ran and runs == [envelope.id]
    assert events_recorded(envelope.id) == 1
    row = inbox_row(envelope.id)
    assert (row.status, row.attempts) == ("completed", 2)
    assert process_once(Queue.EVENTS, envelope, handle) is False


def test_the_worker_processes_messages_with_redis_unreachable(
    events_queue: str, lambda_context: LambdaContext
) -> None:
    from lamina import state
    from lamina.cache import get_redis

    # GIVEN Redis pointing at a port nothing listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    state.configure(
        state.current().settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{closed_port}"})
    )
    from redis.exceptions import ConnectionError as RedisConnectionError

    with pytest.raises(RedisConnectionError):
        get_redis().ping()
    envelope_id = stage_committed_event(uuid.uuid4())
    event = receive_as_lambda_event(events_queue, expected=1)
    runs: list[uuid.UUID] = []
    worker = counting_worker(runs)

    # WHEN the worker handles it, twice (a redelivery)
    assert worker(event, lambda_context) == {"batchItemFailures": []}
    assert worker(event, lambda_context) == {"batchItemFailures": []}

    # THEN it ran once, as if Redis were there: Redis is not on the worker's path
    assert runs == [envelope_id]
    assert events_recorded(envelope_id) == 1


def test_a_concurrent_duplicate_is_reported_failed_not_run(
    events_queue: str, lambda_context: LambdaContext
) -> None:
    # GIVEN one consumer in the middle of handling an envelope (its handler waits on a gate)
    envelope_id = stage_committed_event(uuid.uuid4())
    other_id = stage_committed_event(uuid.uuid4())
    delivered = receive_as_lambda_event(events_queue, expected=2)
    by_envelope = {str(envelope_id) in r["body"]: r for r in delivered["Records"]}
    running, release = threading.Event(), threading.Event()
    runs: list[uuid.UUID] = []

    def gate() -> None:
        if runs[-1] == envelope_id:
            running.set()
            assert release.wait(timeout=30)

    worker = counting_worker(runs, gate=gate)
    results: list[Any] = []
    first = threading.Thread(
        target=lambda: results.append(worker({"Records": [by_envelope[True]]}, lambda_context))
    )
    first.start()
    try:
        assert running.wait(timeout=30)
        # WHEN a second delivery of the same envelope (another message id) arrives with another envelope
        duplicate = {**by_envelope[True], "messageId": str(uuid.uuid4())}
        response = worker({"Records": [duplicate, by_envelope[False]]}, lambda_context)
    finally:
        release.set()

    # THEN the duplicate is a batch item failure (SQS retries it later) and was not run; the other one ran
    assert response == {"batchItemFailures": [{"itemIdentifier": duplicate["messageId"]}]}
    assert runs == [envelope_id, other_id]
    # AND once the first consumer completes, the retried duplicate is acknowledged without running
    first.join(timeout=30)
    assert results == [{"batchItemFailures": []}]
    assert worker({"Records": [duplicate]}, lambda_context) == {"batchItemFailures": []}
    assert runs == [envelope_id, other_id]
    assert events_recorded(envelope_id) == 1


def test_a_command_a_handler_stages_is_sent_once_and_only_if_the_handler_completed(
    events_queue: str, lambda_context: LambdaContext
) -> None:
    from lamina import state
    from lamina.events.outbox import stage_message
    from lamina.queues import BatchProcessingError, Envelope, Queue
    from lamina.queues.worker import queue_worker

    # GIVEN an events handler that derives a webhook delivery (staged in its unit of work) and fails once after
    sqs = state.current().aws_client("sqs")
    webhooks_url = sqs.create_queue(QueueName=f"lamina-test-webhooks-{uuid.uuid4().hex[:10]}")["QueueUrl"]
    state.configure(state.current().settings.model_copy(update={"webhooks_queue_url": webhooks_url}))
    runs: list[uuid.UUID] = []

    def fan_out(envelope: Envelope, session: Any) -> None:
        runs.append(envelope.id)
        stage_message(
            session,
            Queue.WEBHOOKS,
            "webhooks.delivery.requested",
            {"event_id": str(envelope.id)},
            project_id=envelope.project_id,
        )
        if len(runs) == 1:
            raise RuntimeError("crashed after staging")

    worker = queue_worker(Queue.EVENTS, {"*": fan_out})
    envelope_id = stage_committed_event(uuid.uuid4())

    # WHEN the event is handled: a failure, then the redelivery, then a duplicate delivery
    with pytest.raises(BatchProcessingError):
        worker(receive_as_lambda_event(events_queue, expected=1), lambda_context)
    redelivered = receive_as_lambda_event(events_queue, expected=1)
    assert worker(redelivered, lambda_context) == {"batchItemFailures": []}
    assert worker(redelivered, lambda_context) == {"batchItemFailures": []}

    # THEN exactly one delivery command reached the webhooks queue: the failed run's was rolled back
    commands = receive_as_lambda_event(webhooks_url, expected=2)["Records"]
    assert [Envelope.from_body(r["body"]).payload for r in commands] == [{"event_id": str(envelope_id)}]
    assert runs == [envelope_id, envelope_id]
    sqs.delete_queue(QueueUrl=webhooks_url)
