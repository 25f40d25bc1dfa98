"""Publishing domain events and the events worker recording them: SQS (moto), Redis and Postgres, all real."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.test_api_health import load_handler_module
from tests.support import LambdaContext

# AWS calls go to AWS_ENDPOINT_URL: moto by default, LocalStack under `make test-localstack`.
pytestmark = pytest.mark.localstack


@pytest.fixture
def events_queue(stack_env: dict[str, str]) -> Iterator[str]:
    """A fresh events queue of this test's own (1 s visibility timeout, its DLQ in its redrive policy), set as
    the process's EVENTS queue."""
    from lamina import state

    sqs = state.current().aws_client("sqs")
    name = f"lamina-test-events-{uuid.uuid4().hex[:10]}"
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})
    url: str = sqs.create_queue(
        QueueName=name, Attributes={"VisibilityTimeout": "1", "RedrivePolicy": redrive}
    )["QueueUrl"]
    state.configure(state.current().settings.model_copy(update={"events_queue_url": url}))
    yield url
    for queue_url in (url, dlq_url):
        state.current().aws_client("sqs").delete_queue(QueueUrl=queue_url)


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

    from lamina.db.unit_of_work import unit_of_work
    from lamina.events.models import EventRecord

    with unit_of_work() as session:
        rows = session.execute(
            select(EventRecord.type, EventRecord.payload).where(EventRecord.project_id == project_id)
        ).all()
    return sorted((row[0], row[1]) for row in rows)


def test_staged_events_are_recorded_once_and_poison_goes_straight_to_the_dlq(
    events_queue: str, lambda_context: LambdaContext
) -> None:
    from lamina import aws
    from lamina.db.unit_of_work import unit_of_work
    from lamina.events.catalog import EventType, SecretChanged
    from lamina.events.outbox import stage_event

    # GIVEN two domain events staged by a committed change (published after its commit; one as a dict, one as
    # its typed payload) and one malformed message on the same queue
    project_id = uuid.uuid4()
    secret_id = uuid.uuid4()
    with unit_of_work() as session:
        stage_event(
            session,
            "secrets.secret.created",
            {"secret_id": str(secret_id), "name": "openai"},
            project_id=project_id,
        )
        stage_event(
            session,
            EventType.SECRET_DELETED,
            SecretChanged(secret_id=secret_id, name="openai"),
            project_id=project_id,
        )
    aws.client("sqs").send_message(
        QueueUrl=events_queue, MessageBody=json.dumps({"hello": "not an envelope"})
    )
    event = receive_as_lambda_event(events_queue, expected=3)
    assert len(event["Records"]) == 3
    worker = load_handler_module("workers", "events")

    # WHEN the events worker handles the batch, and then the same batch again (an SQS redelivery)
    first = worker.handler(event, lambda_context)
    second = worker.handler(event, lambda_context)

    # THEN no record is left to retry: the poison message went straight to the DLQ with the reason (once per
    # delivery, never after 5 x 240 s of retries), and each event is recorded exactly once
    assert first == second == {"batchItemFailures": []}
    dead = aws.client("sqs").receive_message(
        QueueUrl=f"{events_queue}-dlq", MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )["Messages"]
    assert [json.loads(message["Body"]) for message in dead] == [{"hello": "not an envelope"}] * 2
    reason = dead[0]["MessageAttributes"]["lamina_dead_letter_reason"]["StringValue"]
    assert reason.startswith("PoisonMessageError: not a Lamina envelope")
    payload = {"secret_id": str(secret_id), "name": "openai"}
    assert recorded_events(project_id) == [
        ("secrets.secret.created", payload),
        ("secrets.secret.deleted", payload),
    ]


def test_staging_an_undeclared_event_or_a_payload_off_its_model_is_refused(stack_env: dict[str, str]) -> None:
    from lamina.db.unit_of_work import unit_of_work
    from lamina.events.catalog import EventContractError
    from lamina.events.outbox import stage_event

    # GIVEN a unit of work; WHEN a domain stages an event the catalog does not declare, or a payload with a
    # misspelt key, THEN it is a programming error raised at once (and nothing is staged)
    with pytest.raises(EventContractError, match="unknown event type"), unit_of_work() as session:
        stage_event(session, "secrets.secret.leaked", {"secret_id": str(uuid.uuid4())}, project_id=None)
    with pytest.raises(EventContractError, match="SecretChanged"), unit_of_work() as session:
        stage_event(
            session, "secrets.secret.created", {"secret_id": str(uuid.uuid4()), "nmae": "x"}, project_id=None
        )


def test_publishing_to_a_queue_without_a_url_is_a_clear_error(stack_env: dict[str, str]) -> None:
    from lamina import state
    from lamina.queues import Queue
    from lamina.queues.publish import QueueNotConfiguredError, publish

    state.configure(state.current().settings.model_copy(update={"webhooks_queue_url": ""}))
    with pytest.raises(QueueNotConfiguredError, match="WEBHOOKS_QUEUE_URL"):
        publish(Queue.WEBHOOKS, "webhooks.delivery.requested", {})
