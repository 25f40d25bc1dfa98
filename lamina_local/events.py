"""Builders of the AWS events the local runtime hands to functions, one small function per event source.

Each produces the keys AWS sends (see tests/events/); optional keys AWS leaves out when empty are left out
here too, so handlers see the same shapes locally as in the cloud.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"

# Attributes Lambda copies from the received SQS message into a record (the rest are dropped).
SQS_RECORD_ATTRIBUTE_NAMES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
)


@dataclass
class HttpRequestInfo:
    """An HTTP request already split the way payload format 2.0 wants it."""

    method: str
    raw_path: str
    raw_query_string: str
    headers: dict[str, str]  # lower-cased names, repeated values joined with ","
    cookies: list[str]
    query_string_parameters: dict[str, str]  # repeated values joined with ","
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"
    domain_name: str = "localhost"
    path_parameters: dict[str, str] = field(default_factory=dict)
    stage_variables: dict[str, str] = field(default_factory=dict)


def format_request_time(moment: datetime) -> str:
    """API Gateway's `requestContext.time`: "12/Mar/2020:19:03:58 +0000"."""
    return moment.astimezone(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def http_api_request_context(
    request: HttpRequestInfo,
    *,
    route_key: str,
    request_id: str,
    api_id: str,
    account_id: str = DEFAULT_ACCOUNT_ID,
    now: datetime | None = None,
) -> dict[str, Any]:
    moment = now or datetime.now(UTC)
    return {
        "accountId": account_id,
        "apiId": api_id,
        "domainName": request.domain_name,
        "domainPrefix": request.domain_name.split(".")[0].split(":")[0],
        "http": {
            "method": request.method,
            "path": request.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": request.headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": "$default",
        "time": format_request_time(moment),
        "timeEpoch": int(moment.timestamp() * 1000),
    }


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode()
    except UnicodeDecodeError:
        return False
    return True


def http_api_v2_event(
    request: HttpRequestInfo,
    *,
    route_key: str,
    request_context: dict[str, Any],
    body_is_text: bool,
    authorizer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The payload format 2.0 event of an HTTP API Lambda proxy integration."""
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query_string,
    }
    if request.cookies:
        event["cookies"] = list(request.cookies)
    event["headers"] = dict(request.headers)
    if request.query_string_parameters:
        event["queryStringParameters"] = dict(request.query_string_parameters)
    context = dict(request_context)
    if authorizer is not None:
        context["authorizer"] = authorizer
    event["requestContext"] = context
    # A "text" body that is not UTF-8 cannot travel as a JSON string: it goes base64, its bytes intact, and
    # the function decides what to make of it (the API answers 400) instead of the gateway failing with a 500.
    as_text = body_is_text and _is_utf8(request.body)
    if request.body:
        event["body"] = request.body.decode() if as_text else base64.b64encode(request.body).decode()
    if request.path_parameters:
        event["pathParameters"] = dict(request.path_parameters)
    event["isBase64Encoded"] = bool(request.body) and not as_text
    if request.stage_variables:
        event["stageVariables"] = dict(request.stage_variables)
    return event


def http_api_v2_authorizer_event(
    request: HttpRequestInfo,
    *,
    route_key: str,
    route_arn: str,
    identity_source: Sequence[str],
    request_context: dict[str, Any],
) -> dict[str, Any]:
    """The payload format 2.0 event of an HTTP API Lambda authorizer (type REQUEST)."""
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": route_arn,
        "identitySource": list(identity_source),
        "routeKey": route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query_string,
        "cookies": list(request.cookies),
        "headers": dict(request.headers),
        "queryStringParameters": dict(request.query_string_parameters),
        "requestContext": dict(request_context),
        "pathParameters": dict(request.path_parameters),
        "stageVariables": dict(request.stage_variables),
    }


def execute_api_route_arn(region: str, account_id: str, api_id: str, method: str, raw_path: str) -> str:
    return f"arn:aws:execute-api:{region}:{account_id}:{api_id}/$default/{method}{raw_path}"


def _lambda_message_attribute(attribute: Mapping[str, Any]) -> dict[str, Any]:
    """SQS API attribute {StringValue|BinaryValue, DataType} -> Lambda's camel-cased record shape."""
    shaped: dict[str, Any] = {}
    if "StringValue" in attribute:
        shaped["stringValue"] = attribute["StringValue"]
    if "BinaryValue" in attribute:
        raw = attribute["BinaryValue"]
        shaped["binaryValue"] = base64.b64encode(raw).decode() if isinstance(raw, bytes | bytearray) else raw
    shaped["stringListValues"] = list(attribute.get("StringListValues", []))
    shaped["binaryListValues"] = [
        base64.b64encode(value).decode() if isinstance(value, bytes | bytearray) else value
        for value in attribute.get("BinaryListValues", [])
    ]
    shaped["dataType"] = attribute["DataType"]
    return shaped


def sqs_record(message: Mapping[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    """One `Records[]` entry built from a boto3 `receive_message` message."""
    attributes = message.get("Attributes", {})
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {name: attributes[name] for name in SQS_RECORD_ATTRIBUTE_NAMES if name in attributes},
        "messageAttributes": {
            name: _lambda_message_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    record["eventSource"] = "aws:sqs"
    record["eventSourceARN"] = queue_arn
    record["awsRegion"] = region
    return record


def sqs_event(messages: Sequence[Mapping[str, Any]], *, queue_arn: str, region: str) -> dict[str, Any]:
    return {"Records": [sqs_record(message, queue_arn=queue_arn, region=region) for message in messages]}


def format_event_time(moment: datetime) -> str:
    """EventBridge's `time`: ISO 8601 in UTC, whole seconds, "Z" suffix."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def scheduled_event(
    *,
    rule_arn: str,
    fire_time: datetime,
    region: str = DEFAULT_REGION,
    account_id: str = DEFAULT_ACCOUNT_ID,
    event_id: str | None = None,
) -> dict[str, Any]:
    """The EventBridge "Scheduled Event" a schedule rule sends its Lambda target."""
    # Real deliveries also carry "version": "0"; the reference shape (tests/events/) does not, and we follow it.
    return {
        "id": event_id or str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": format_event_time(fire_time),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }
