"""The SQS batch processor: partial failures, poison messages, idempotency by message id."""

from __future__ import annotations

import pytest

from lamina.queues import BatchProcessingError, Envelope, SqsRecord, process_sqs_batch
from lamina.queues.worker import route_envelope
from tests.support import load_event


class InMemoryIdempotencyStore:
    """The IdempotencyStore protocol over a dict (Redis in production)."""

    def __init__(self) -> None:
        self.states: dict[str, str] = {}

    def claim(self, key: str) -> str | None:
        if key in self.states:
            return self.states[key]
        self.states[key] = "in_progress"
        return None

    def complete(self, key: str) -> None:
        self.states[key] = "done"

    def release(self, key: str) -> None:
        self.states.pop(key, None)


def sqs_event(*bodies: str) -> dict[str, object]:
    template = load_event("sqs-receive-message.json")["Records"][0]
    records = [{**template, "messageId": f"m{index}", "body": body} for index, body in enumerate(bodies)]
    return {"Records": records}


def envelope(type_: str = "applications.revision.committed") -> str:
    return Envelope(type=type_, payload={"n": 1}).to_body()


def test_only_the_failing_records_are_reported() -> None:
    # GIVEN a batch of two good envelopes around a poison body
    seen: list[str] = []
    handlers = {"applications.*": lambda env: seen.append(env.type)}
    event = sqs_event(envelope(), "not json", envelope())
    # WHEN processed
    response = process_sqs_batch(event, lambda record: route_envelope(handlers, record))
    # THEN the poison one alone is returned to the queue, the others ran
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert len(seen) == 2


def test_an_envelope_type_without_handler_fails_rather_than_vanishing() -> None:
    response = process_sqs_batch(
        sqs_event(envelope("tracing.spans.ingest"), envelope()),
        lambda record: route_envelope({"applications.revision.committed": lambda env: None}, record),
    )
    assert response == {"batchItemFailures": [{"itemIdentifier": "m0"}]}


def test_a_batch_where_everything_failed_raises() -> None:
    with pytest.raises(BatchProcessingError):
        process_sqs_batch(sqs_event("x", "y"), lambda record: record.envelope())


def test_a_redelivered_message_is_acknowledged_without_running_twice() -> None:
    # GIVEN a store that remembers processed message ids
    store = InMemoryIdempotencyStore()
    runs: list[str] = []
    event = sqs_event(envelope())

    def handler(record: SqsRecord) -> None:
        runs.append(record.message_id)

    # WHEN the same message is delivered twice
    process_sqs_batch(event, handler, idempotency=store)
    second = process_sqs_batch(event, handler, idempotency=store)
    # THEN it ran once and the redelivery is acknowledged
    assert runs == ["m0"]
    assert second == {"batchItemFailures": []}


def test_a_failed_record_can_be_retried_and_one_in_progress_elsewhere_is_not_run() -> None:
    store = InMemoryIdempotencyStore()
    attempts: list[int] = []

    def flaky(record: SqsRecord) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("transient")

    event = sqs_event(envelope(), envelope())
    first = process_sqs_batch(event, flaky, idempotency=store)
    assert first == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert store.states == {"m1": "done"}  # the failure released its claim
    store.states["m0"] = "in_progress"  # another consumer holds it now
    again = process_sqs_batch(event, flaky, idempotency=store)
    assert again == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
