"""Streamed invocations: server-sent events over real HTTP as the provider streams (litellm against the fake
server's chunks), NDJSON through the Mangum handler, and the traces of streamed runs."""

from __future__ import annotations

import json
from typing import Any

import httpx

from lamina.services.app import create_app as create_services_app
from tests.fake_openai import FakeOpenAI
from tests.integration.api_client import Tenant, api_over_http
from tests.integration.test_services import (
    PROVIDER,
    api_env,
    cognito_pool,
    fake,
    invoke,
    make_tenant,
    own_events_queue,
    prompt,
    tenant,
    tracing_queue,
)
from tests.integration.test_tracing import run_tracing_worker

__all__ = ["api_env", "cognito_pool", "fake", "make_tenant", "own_events_queue", "tenant", "tracing_queue"]

CONVERSATION = [{"role": "user", "content": "And 3+3?"}]
# Generous: on a loaded 2-core machine the first call in a process also pays litellm's import.
STREAM_TIMEOUT_S = 120.0


def ndjson_events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_chat_streams_server_sent_events_over_http_while_the_provider_streams(
    tenant: Tenant, fake: FakeOpenAI, tracing_queue: str, lambda_context: Any
) -> None:
    # GIVEN the Services app served over HTTP, and a provider that holds its stream after the first chunk
    # until the test has seen that chunk arrive at the client
    from lamina.services.llm import litellm

    litellm()  # imported before the clock matters: the gate waits only GATE_TIMEOUT_S for the first event
    fake.stream_gate.clear()
    fake.gate_opened.clear()
    body = {
        "data": {
            "inputs": {"name": "Ida", "place": {"city": "Oslo"}, "messages": CONVERSATION},
            "parameters": prompt(f"{PROVIDER}/fake-gated"),
        }
    }
    events: list[dict[str, Any]] = []
    # WHEN chat is invoked over HTTP with Accept: text/event-stream
    with (
        api_over_http(create_services_app) as url,
        httpx.stream(
            "POST",
            f"{url}/services/chat/v0/invoke",
            json=body,
            headers={"authorization": tenant.key_auth, "accept": "text/event-stream"},
            timeout=STREAM_TIMEOUT_S,
        ) as response,
    ):
        status, headers = response.status_code, response.headers
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line.removeprefix("data: ")))
                fake.stream_gate.set()  # the first event is here while the provider still streams
    # THEN the answer is a 200 event stream linked to its trace
    assert status == 200, events
    assert headers["content-type"].startswith("text/event-stream")
    # AND the first delta reached the client before the provider finished (it was waiting for that)
    assert fake.gate_opened == [True]
    assert fake.requests[-1]["body"]["stream"] is True
    # AND the deltas are the provider's chunks, then one result event with the assembled message
    deltas = [event for event in events if event["type"] == "delta"]
    assert "".join(event["data"]["content"] for event in deltas) == "fake says: And 3+3?"
    assert len(deltas) == 4  # a chunk a word
    result = events[-1]
    assert result["type"] == "result" and result["status"]["code"] == 200
    assert result["data"]["outputs"] == {"role": "assistant", "content": "fake says: And 3+3?"}
    assert headers["traceparent"] == f"00-{result['trace_id']}-{result['span_id']}-01"
    # AND the streamed run is traced, with its assembled outputs
    run_tracing_worker(tracing_queue, 1, lambda_context)
    span = tenant.client.get(f"/api/traces/{result['trace_id']}").ok()["trace"]["spans"]["chat"]
    assert span["status_code"] == "STATUS_CODE_OK"
    assert span["attributes"]["ag"]["data"]["outputs"] == result["data"]["outputs"]


def test_flags_stream_answers_ndjson_through_the_lambda_handler_and_failures_keep_their_status(
    tenant: Tenant, fake: FakeOpenAI
) -> None:
    inputs = {"name": "Jo", "place": {"city": "Lyon"}}
    # WHEN completion is invoked with flags.stream through the Mangum handler (the mock model: no key)
    streamed = invoke(
        tenant,
        "completion",
        {"flags": {"stream": True}, "data": {"inputs": inputs, "parameters": prompt("mock/echo")}},
    )
    # THEN the (buffered) body is NDJSON: a delta a word, then the result
    assert streamed.status == 200 and streamed.headers["content-type"].startswith("application/x-ndjson")
    events = ndjson_events(streamed.body)
    assert [event["type"] for event in events] == ["delta"] * 6 + ["result"]
    assert events[-1]["data"]["outputs"] == "Say hi to Jo from Lyon."

    # WHEN the provider refuses before streaming anything (429 after the retries)
    parameters = prompt(f"{PROVIDER}/fake-429")
    parameters["prompt"]["retry_config"] = {"max_retries": 0}
    limited = invoke(
        tenant,
        "completion",
        {"data": {"inputs": inputs, "parameters": parameters}},
        headers={"accept": "text/event-stream"},
    )
    # THEN it is a plain 429 error answer (no stream started), linked to the failed run's trace
    assert limited.status == 429 and "Rate limit reached" in limited.body["message"]
    assert limited.headers["traceparent"] == f"00-{limited.body['trace_id']}-{limited.body['span_id']}-01"

    # WHEN the streamed JSON does not match the response schema (found once the stream is assembled)
    schema = {
        "type": "json_schema",
        "json_schema": {
            "name": "x",
            "schema": {"type": "object", "properties": {"confidence": {"type": "string"}}},
        },
    }
    broken = invoke(
        tenant,
        "completion",
        {"data": {"inputs": inputs, "parameters": prompt(f"{PROVIDER}/fake-model", response_format=schema)}},
        headers={"accept": "application/x-ndjson"},
    )
    # THEN the stream ends with an error event that says what did not match
    last = ndjson_events(broken.body)[-1]
    assert last["type"] == "error" and last["status"]["code"] == 424
    assert "/confidence" in last["status"]["message"] and last["trace_id"]
