"""The SQS batch processor and envelope routing: partial failures, poison messages (idempotency: test_inbox)."""

from __future__ import annotations

import pytest

from lamina.queues import BatchProcessingError, Envelope, PoisonMessageError, process_sqs_batch
from lamina.queues.worker import handler_for
from tests.support import load_event


def sqs_event(*bodies: str) -> dict[str, object]:
    template = load_event("sqs-receive-message.json")["Records"][0]
    records = [{**template, "messageId": f"m{index}", "body": body} for index, body in enumerate(bodies)]
    return {"Records": records}


def envelope(type_: str = "applications.revision.committed") -> str:
    return Envelope(type=type_, payload={"n": 1}).to_body()


def test_only_the_failing_records_are_reported() -> None:
    # GIVEN a batch of two good envelopes around a poison body
    seen: list[str] = []
    event = sqs_event(envelope(), "not json", envelope())
    # WHEN processed
    response = process_sqs_batch(event, lambda record: seen.append(record.envelope().type))
    # THEN the poison one alone is returned to the queue, the others ran
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert len(seen) == 2


def test_envelopes_route_to_the_exact_type_then_the_nearest_prefix_then_the_catch_all() -> None:
    def exact(envelope: Envelope, session: object) -> None: ...
    def prefix(envelope: Envelope, session: object) -> None: ...
    def anything(envelope: Envelope, session: object) -> None: ...

    handlers = {"applications.revision.committed": exact, "applications.*": prefix}
    assert handler_for(handlers, "applications.revision.committed") is exact
    assert handler_for(handlers, "applications.variant.forked") is prefix
    # An envelope type without a handler fails (to the DLQ, replayable) rather than vanishing
    with pytest.raises(PoisonMessageError, match=r"tracing\.spans\.ingest"):
        handler_for(handlers, "tracing.spans.ingest")
    assert handler_for({**handlers, "*": anything}, "tracing.spans.ingest") is anything


def test_a_batch_where_everything_failed_raises() -> None:
    with pytest.raises(BatchProcessingError):
        process_sqs_batch(sqs_event("x", "y"), lambda record: record.envelope())
