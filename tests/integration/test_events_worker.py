"""Publishing domain events and the events worker recording them: SQS (moto), Redis and Postgres, all real."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.integration.test_api_health import load_handler_module
from tests.support import LambdaContext, configure_library

# AWS calls go to AWS_ENDPOINT_URL: moto by default, LocalStack under `make test-localstack`.
pytestmark = pytest.mark.localstack


def receive_as_lambda_event(queue_url: str, expected: int) -> dict[str, Any]:
    """What Lambda's SQS poller hands the function: the received messages in the event shape."""
    from lamina import aws

    sqs = aws.client("sqs")
    messages: list[dict[str, Any]] = []
    for _ in range(10):
        response = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
        )
        messages += response.get("Messages", [])
        if len(messages) >= expected:
            break
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": "us-east-1",
            }
            for message in messages
        ]
    }


def recorded_events(project_id: uuid.UUID) -> list[tuple[str, dict[str, Any]]]:
    from sqlalchemy import select

    from lamina.db import session_scope
    from lamina.events.models import EventRecord

    with session_scope() as session:
        rows = session.execute(
            select(EventRecord.type, EventRecord.payload).where(EventRecord.project_id == project_id)
        ).all()
    return sorted((row[0], row[1]) for row in rows)


def test_published_events_are_recorded_once_and_poison_is_reported(
    stack_env: dict[str, str], lambda_context: LambdaContext
) -> None:
    from lamina import aws
    from lamina.events.service import publish_event

    # GIVEN two domain events published by the API and one malformed message on the same queue
    project_id = uuid.uuid4()
    publish_event("applications.revision.committed", {"version": 1}, project_id=project_id)
    publish_event("applications.revision.deployed", {"environment": "production"}, project_id=project_id)
    queue_url = stack_env["EVENTS_QUEUE_URL"]
    aws.client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps({"hello": "not an envelope"}))
    event = receive_as_lambda_event(queue_url, expected=3)
    assert len(event["Records"]) == 3
    worker = load_handler_module("workers", "events")

    # WHEN the events worker handles the batch, and then the same batch again (an SQS redelivery)
    first = worker.handler(event, lambda_context)
    second = worker.handler(event, lambda_context)

    # THEN the poison message alone is reported failed, and each event is recorded exactly once
    poison_ids = [r["messageId"] for r in event["Records"] if "hello" in r["body"]]
    assert first == {"batchItemFailures": [{"itemIdentifier": poison_ids[0]}]}
    assert second == first
    assert recorded_events(project_id) == [
        ("applications.revision.committed", {"version": 1}),
        ("applications.revision.deployed", {"environment": "production"}),
    ]


def test_publishing_without_a_configured_queue_is_a_clear_error(stack_env: dict[str, str]) -> None:
    from lamina.events.service import publish_event
    from lamina.queues.publish import QueueNotConfiguredError

    configure_library({**stack_env, "EVENTS_QUEUE_URL": ""})
    with pytest.raises(QueueNotConfiguredError, match="EVENTS_QUEUE_URL"):
        publish_event("applications.revision.committed", {}, project_id=None)
