"""CronFunction's tasks against real Postgres and SQS: the outbox flush and retention."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest

from tests.integration.test_api_health import load_handler_module
from tests.support import LambdaContext


def test_flush_outbox_publishes_events_a_request_could_not(
    stack_env: dict[str, str], lambda_context: LambdaContext
) -> None:
    from lamina import aws
    from lamina.db.base import utcnow
    from lamina.db.unit_of_work import unit_of_work
    from lamina.events.outbox import OutboxEvent

    # GIVEN an event whose request committed while SQS was unreachable (it stayed in the outbox)
    event_id = uuid.uuid4()
    with unit_of_work() as session:
        session.add(
            OutboxEvent(
                id=event_id,
                project_id=None,
                type="applications.revision.deployed",
                payload={"environment": "production"},
                occurred_at=utcnow() - timedelta(minutes=2),
                attempts=1,
                last_error="EndpointConnectionError",
            )
        )
    # WHEN the FlushOutbox schedule runs the cron function
    cron = load_handler_module("cron")
    result = cron.handler({"task": "flush_outbox"}, lambda_context)
    # THEN the event is on the events queue, with its id, and gone from the outbox
    assert result["flush_outbox"]["events_published"] >= 1
    sqs = aws.client("sqs")
    bodies = []
    for _ in range(5):
        messages = sqs.receive_message(QueueUrl=stack_env["EVENTS_QUEUE_URL"], MaxNumberOfMessages=10).get(
            "Messages", []
        )
        bodies += [json.loads(m["Body"]) for m in messages]
        if any(body.get("id") == str(event_id) for body in bodies):
            break
    assert any(
        body.get("id") == str(event_id) and body.get("type") == "applications.revision.deployed"
        for body in bodies
    )
    with unit_of_work() as session:
        assert session.get(OutboxEvent, event_id) is None


def test_an_unknown_task_is_a_clear_error(stack_env: dict[str, str], lambda_context: LambdaContext) -> None:
    from lamina.errors import ValidationFailedError

    cron = load_handler_module("cron")
    with pytest.raises(ValidationFailedError, match="flush_outbox"):
        cron.handler({"task": "nope"}, lambda_context)
