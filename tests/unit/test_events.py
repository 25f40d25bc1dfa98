"""The event builders produce the key sets of the real AWS events in tests/events/."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lamina_local.events import (
    HttpRequestInfo,
    http_api_request_context,
    http_api_v2_event,
    scheduled_event,
    sqs_event,
)

EVENTS = Path(__file__).resolve().parents[1] / "events"


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return document


def test_http_api_v2_event_has_the_keys_of_the_aws_event() -> None:
    # GIVEN a request with every optional part present (cookies, query, body, path and stage variables)
    fixture = load("apigw-http-api-v2.json")
    request = HttpRequestInfo(
        method="POST",
        raw_path="/path/to/resource",
        raw_query_string="parameter1=value1&parameter1=value2&parameter2=value",
        headers={"header1": "value1", "user-agent": "agent"},
        cookies=["cookie1", "cookie2"],
        query_string_parameters={"parameter1": "value1,value2", "parameter2": "value"},
        body=b'{"test":"body"}',
        source_ip="192.168.0.1",
        path_parameters={"parameter1": "value1"},
        stage_variables={"stageVariable1": "value1"},
    )
    context = http_api_request_context(
        request, route_key="$default", request_id="id", api_id="api-id", now=datetime(2020, 3, 12, tzinfo=UTC)
    )
    authorizer = {"jwt": {"claims": {"claim1": "value1"}, "scopes": ["scope1"]}}

    # WHEN the event is built with a binary body
    event = http_api_v2_event(
        request, route_key="$default", request_context=context, body_is_text=False, authorizer=authorizer
    )

    # THEN it has the fixture's keys (mTLS `authentication` only exists with client certificates)
    assert event.keys() == fixture.keys()
    context_keys = fixture["requestContext"].keys() - {"authentication"}
    assert event["requestContext"].keys() == context_keys
    assert event["requestContext"]["http"].keys() == fixture["requestContext"]["http"].keys()
    assert event["requestContext"]["authorizer"]["jwt"].keys() == {"claims", "scopes"}
    assert event["queryStringParameters"] == fixture["queryStringParameters"]
    assert event["cookies"] == fixture["cookies"]
    assert event["isBase64Encoded"] is True
    assert event["body"] == fixture["body"]
    assert event["requestContext"]["time"] == "12/Mar/2020:00:00:00 +0000"


def test_sqs_event_has_the_keys_of_the_aws_event() -> None:
    # GIVEN a message as boto3's receive_message returns it
    fixture = load("sqs-receive-message.json")
    message = {
        "MessageId": "19dd0b57-b21e-4ac1-bd88-01bbb068cb78",
        "ReceiptHandle": "MessageReceiptHandle",
        "MD5OfBody": "7b270e59b47ff90a553787216d55d91d",
        "Body": "Hello from SQS!",
        "Attributes": {
            "SenderId": "123456789012",
            "SentTimestamp": "1523232000000",
            "ApproximateReceiveCount": "1",
            "ApproximateFirstReceiveTimestamp": "1523232000001",
            "SqsManagedSseEnabled": "false",
        },
    }

    # WHEN the Lambda event is built
    event = sqs_event([message], queue_arn="arn:aws:sqs:us-east-1:123456789012:MyQueue", region="us-east-1")

    # THEN it equals the fixture, key for key and value for value
    assert event == fixture


def test_sqs_message_attributes_take_lambdas_shape() -> None:
    message = {
        "MessageId": "m",
        "ReceiptHandle": "r",
        "MD5OfBody": "x",
        "Body": "b",
        "MD5OfMessageAttributes": "y",
        "MessageAttributes": {
            "kind": {"DataType": "String", "StringValue": "a"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x01\x02"},
        },
    }
    record = sqs_event([message], queue_arn="arn", region="us-east-1")["Records"][0]
    assert record["messageAttributes"] == {
        "kind": {"stringValue": "a", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
        "blob": {"binaryValue": "AQI=", "stringListValues": [], "binaryListValues": [], "dataType": "Binary"},
    }


def test_scheduled_event_has_the_keys_of_the_aws_event() -> None:
    fixture = load("eventbridge-scheduled.json")
    event = scheduled_event(
        rule_arn=fixture["resources"][0],
        fire_time=datetime(1970, 1, 1, tzinfo=UTC),
        event_id=fixture["id"],
    )
    assert event == fixture
