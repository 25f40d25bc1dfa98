"""Structured JSON logs: one JSON object per line, written by Powertools' Logger.

Every record of a `lamina.*` logger carries the Lambda request id, function name and cold-start flag
(`function_request_id`, `function_name`, `cold_start`), the correlation id of what is being handled
(`correlation_id`: the W3C trace id of the request or envelope) and `xray_trace_id`, plus the record's
`extra` fields. The level is `LAMINA_LOG_LEVEL` (`Settings.log_level`), applied when an invocation starts
(first invocation, or after `lamina.state.configure`). Powertools is loaded by the first invocation (or a
SnapStart priming hook), so that its import stays out of cold starts; records logged during init are plain.

Each Lambda entry point is wrapped once, in its `functions/*/` module: `handler = lambda_handler(...)`.
The wrapper finds the correlation id by event source: HTTP API (and authorizer) events by their `traceparent`
or `X-Amzn-Trace-Id` header, else API Gateway's request id; SQS batches by their envelopes' `traceparent`
when they share one; EventBridge events by their id.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

    from lamina.settings import Settings

H = TypeVar("H", bound=Callable[..., Any])

# The stdlib logger Powertools configures; every module's `logging.getLogger(__name__)` propagates to it.
SERVICE = "lamina"
# W3C Trace Context: version-traceid-parentid-flags; an all-zero trace id is invalid.
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
_INVALID_TRACE_ID = "0" * 32


def logger() -> Logger:
    """The Powertools logger of the `lamina` loggers (one stdlib logger per process: instances share it)."""
    from aws_lambda_powertools import Logger

    # Powertools configures the stdlib logger once (handler, JSON formatter); later instances reuse it.
    return Logger(service=SERVICE, use_rfc3339=True, utc=True, serialize_stacktrace=False)


def lambda_handler(handler: H) -> H:
    """Wrap a Lambda handler so the logs of each invocation carry its context and correlation id."""
    # Powertools is imported by the first invocation, not at init: its import would add ~20 ms to every
    # function's cold start (the authorizer's init is ~15 ms without it). Records logged during init are
    # plain text; SnapStart functions prime it before their snapshot (`prime`).
    instrumented: list[Callable[..., Any]] = []

    @functools.wraps(handler)
    def entry(event: Any, context: Any) -> Any:
        if not instrumented:
            instrumented.append(_instrumented(handler))
        return instrumented[0](event, context)

    return cast(H, entry)


def prime() -> None:
    """Import and configure the logger now (a SnapStart before-snapshot hook), not on the first invocation."""
    logger()


def _instrumented(handler: Callable[..., Any]) -> Callable[..., Any]:
    log = logger()
    applied: list[Settings] = []

    @functools.wraps(handler)
    def correlated(event: Any, context: Any) -> Any:
        from lamina.state import current

        settings = current().settings
        if not applied or applied[0] is not settings:  # the first invocation, or after `configure`
            log.setLevel(settings.log_level)  # Lambda's own level (AWS_LAMBDA_LOG_LEVEL), if set, prevails
            applied[:] = [settings]
        log.set_correlation_id(correlation_id(event))
        return handler(event, context)

    # clear_state: the keys of the previous invocation (correlation id included) never leak into this one.
    return cast(Callable[..., Any], log.inject_lambda_context(correlated, clear_state=True))


def trace_id(traceparent: str | None) -> str | None:
    """The trace id of a W3C `traceparent` header value, None when it is missing or malformed."""
    if not traceparent:
        return None
    match = _TRACEPARENT.match(traceparent.strip().lower())
    if match is None or match.group(1) == _INVALID_TRACE_ID:
        return None
    return match.group(1)


def correlation_id(event: Any) -> str | None:
    """What ties this invocation's logs to the request or message it handles (see the module docstring)."""
    if not isinstance(event, Mapping):
        return None
    headers = event.get("headers")
    if isinstance(headers, Mapping):
        return _from_http(event, headers)
    records = event.get("Records")
    if isinstance(records, list):
        return _from_sqs(records)
    if "detail-type" in event and event.get("id"):
        return str(event["id"])
    return None


def _from_http(event: Mapping[str, Any], headers: Mapping[str, Any]) -> str | None:
    # HTTP API lower-cases header names; REST API and function URLs may not.
    lowered = {str(name).lower(): value for name, value in headers.items()}
    from_traceparent = trace_id(lowered.get("traceparent"))
    if from_traceparent:
        return from_traceparent
    amzn = lowered.get("x-amzn-trace-id")
    if isinstance(amzn, str):
        root = next((part[5:] for part in amzn.split(";") if part.startswith("Root=")), None)
        if root:
            return root
    request_context = event.get("requestContext")
    request_id = request_context.get("requestId") if isinstance(request_context, Mapping) else None
    return str(request_id) if request_id else None


def _from_sqs(records: list[Any]) -> str | None:
    """The trace id the batch's envelopes share; None when they name none or several."""
    found: set[str] = set()
    for record in records:
        body = record.get("body") if isinstance(record, Mapping) else None
        if not isinstance(body, str) or '"traceparent"' not in body:
            continue
        try:
            parsed = json.loads(body)
        except ValueError:
            continue
        value = trace_id(parsed.get("traceparent")) if isinstance(parsed, dict) else None
        if value:
            found.add(value)
    return found.pop() if len(found) == 1 else None
