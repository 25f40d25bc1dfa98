"""Structured logs: each record is one JSON object with the invocation's context, at LAMINA_LOG_LEVEL."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from lamina_local.console import Console
from tests.support import LambdaContext, load_event

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
AMZN_ROOT = "1-5759e988-bd862e3fe1be46a994272793"
# What Powertools documents as the keys of every record written inside a wrapped handler.
CONTEXT_KEYS = {
    "level",
    "location",
    "message",
    "timestamp",
    "service",
    "cold_start",
    "function_name",
    "function_memory_size",
    "function_arn",
    "function_request_id",
    "xray_trace_id",
}


@pytest.fixture
def log_output(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """What the `lamina` logger writes (Lambda: stdout), captured; the library configured afresh around it."""
    from lamina import logs
    from lamina.state import configure

    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={AMZN_ROOT};Parent=53995c3f42cd8ad8;Sampled=1")
    configure(None)
    handler = logs.logger().registered_handler
    assert isinstance(handler, logging.StreamHandler)
    output = io.StringIO()
    previous = handler.setStream(output)
    yield output
    handler.setStream(previous)
    configure(None)


def records(output: io.StringIO) -> list[dict[str, Any]]:
    lines = output.getvalue().splitlines()
    output.seek(0)
    output.truncate()
    return [json.loads(line) for line in lines]


def logging_handler() -> Any:
    from lamina.logs import lambda_handler

    @lambda_handler
    def handler(event: dict[str, Any], context: Any) -> str:
        log = logging.getLogger("lamina.tests.handler")
        log.debug("a detail")
        log.info("handled", extra={"items": 2})
        log.warning("slow backend", extra={"backend": "redis", "waited_ms": 120})
        return "ok"

    return handler


def http_event(headers: dict[str, str]) -> dict[str, Any]:
    event = load_event("apigw-http-api-v2.json")
    event["headers"] = headers
    return event


def test_records_are_json_with_the_lambda_context_and_the_request_trace_id(log_output: io.StringIO) -> None:
    from lamina.settings import Settings
    from lamina.state import configure

    # GIVEN the library configured at WARNING and a handler wrapped by lamina.logs
    configure(Settings(log_level="warning"))
    handler = logging_handler()
    # WHEN an HTTP request carrying a W3C traceparent is handled
    assert handler(http_event({"traceparent": TRACEPARENT}), LambdaContext()) == "ok"
    # THEN only the warning is written, as one JSON object with the context keys, its trace id and its extras
    (record,) = records(log_output)
    assert record.keys() >= CONTEXT_KEYS
    assert record["level"] == "WARNING" and record["message"] == "slow backend"
    assert record["service"] == "lamina"
    assert record["function_name"] == LambdaContext.function_name
    assert record["function_request_id"] == LambdaContext.aws_request_id
    assert record["correlation_id"] == TRACE_ID
    assert record["xray_trace_id"] == AMZN_ROOT
    assert (record["backend"], record["waited_ms"]) == ("redis", 120)
    assert record["cold_start"] in (True, False)

    # WHEN the next request has only an X-Amzn-Trace-Id, and then neither header
    handler(http_event({"X-Amzn-Trace-Id": f"Root={AMZN_ROOT};Sampled=1"}), LambdaContext())
    handler(http_event({}), LambdaContext())
    # THEN each carries its own correlation id (API Gateway's request id last), nothing left over, not cold
    second, third = records(log_output)
    assert second["correlation_id"] == AMZN_ROOT
    assert third["correlation_id"] == load_event("apigw-http-api-v2.json")["requestContext"]["requestId"]
    assert second["cold_start"] is False and third["cold_start"] is False


def test_the_level_follows_the_configured_settings_and_sqs_batches_carry_their_envelopes_trace(
    log_output: io.StringIO,
) -> None:
    from lamina.settings import Settings
    from lamina.state import configure

    # GIVEN the library reconfigured at DEBUG, and an SQS batch whose envelopes share a traceparent
    configure(Settings(LAMINA_LOG_LEVEL="DEBUG"))
    event = load_event("sqs-receive-message.json")
    for record in event["Records"]:
        record["body"] = json.dumps({"id": "e1", "type": "t", "traceparent": TRACEPARENT})
    # WHEN the batch is handled
    logging_handler()(event, LambdaContext())
    # THEN debug records are written too, and every record carries the envelopes' trace id
    written = records(log_output)
    assert [r["level"] for r in written] == ["DEBUG", "INFO", "WARNING"]
    assert {r["correlation_id"] for r in written} == {TRACE_ID}
    assert written[1]["items"] == 2


def test_an_unknown_level_is_refused() -> None:
    from pydantic import ValidationError

    from lamina.settings import Settings

    with pytest.raises(ValidationError, match="unknown log level"):
        Settings(log_level="chatty")


def test_lamina_up_prints_records_as_short_lines_and_json_on_request(log_output: io.StringIO) -> None:
    # GIVEN the JSON lines a wrapped handler writes, one of them with an exception
    from lamina.logs import lambda_handler

    @lambda_handler
    def handler(event: dict[str, Any], context: Any) -> None:
        log = logging.getLogger("lamina.tests.handler")
        log.warning("slow backend", extra={"backend": "redis", "detail": "timed out after 5 s"})
        try:
            raise ValueError("bad row")
        except ValueError:
            log.exception("record failed")

    handler(http_event({"traceparent": TRACEPARENT}), LambdaContext())
    lines = log_output.getvalue().splitlines()
    time_of_first = json.loads(lines[0])["timestamp"][11:23]

    # WHEN `lamina up` prints them (the default) and with --log-format json
    pretty, raw = io.StringIO(), io.StringIO()
    for console in (Console(pretty, colour=False), Console(raw, log_format="json")):
        for line in [*lines, "START RequestId: 1 Version: $LATEST"]:
            console.line("ApiFunction", line)

    # THEN records become one readable line each (a traceback below), other lines pass through
    shown = [row.split(" | ", 1)[1] for row in pretty.getvalue().splitlines()]
    assert shown[0] == (
        f'{time_of_first} WARNING slow backend  backend=redis detail="timed out after 5 s"  corr={TRACE_ID[:8]}'
    )
    assert shown[1].endswith(f"ERROR record failed  corr={TRACE_ID[:8]}")
    assert shown[2].startswith("    Traceback") and "ValueError: bad row" in shown[-2]
    assert shown[-1] == "START RequestId: 1 Version: $LATEST"
    # AND the json format prints them exactly as written
    assert [row.split(" | ", 1)[1] for row in raw.getvalue().splitlines()] == [
        *lines,
        "START RequestId: 1 Version: $LATEST",
    ]
