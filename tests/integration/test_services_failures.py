"""Services failures and provider connections: a failed run is traced and its error links to the trace,
5xx answers are retried with backoff, JSON-schema outputs are checked, and Azure and Bedrock connection
settings come from the project's secrets (litellm over HTTP against the fake server, never patched)."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.fake_openai import AUTH_ERROR_MESSAGE, FakeOpenAI
from tests.integration.api_client import Tenant
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

INPUTS = {"name": "Kai", "place": {"city": "Baku"}}


def test_a_failed_run_is_traced_and_its_error_answer_links_to_the_trace(
    tenant: Tenant, fake: FakeOpenAI, tracing_queue: str, lambda_context: Any
) -> None:
    # WHEN the provider refuses the key
    refused = invoke(
        tenant, "completion", {"data": {"inputs": INPUTS, "parameters": prompt(f"{PROVIDER}/fake-401")}}
    )
    # THEN the 424 carries the trace of the failed run, in its body and its traceparent header
    assert refused.status == 424, refused.body
    trace_id, span_id = refused.body["trace_id"], refused.body["span_id"]
    assert refused.headers["traceparent"] == f"00-{trace_id}-{span_id}-01"
    # AND that trace holds an error span with the provider's message, the model and the inputs
    run_tracing_worker(tracing_queue, 1, lambda_context)
    span = tenant.client.get(f"/api/traces/{trace_id}").ok()["trace"]["spans"]["completion"]
    assert span["span_id"] == span_id and span["status_code"] == "STATUS_CODE_ERROR"
    assert AUTH_ERROR_MESSAGE.split(":")[0] in span["status_message"]
    assert span["attributes"]["ag"]["meta"]["request"]["model"] == f"{PROVIDER}/fake-401"
    assert span["attributes"]["ag"]["data"]["inputs"] == INPUTS

    # WHEN the provider keeps failing with a 500, under a retry policy of 2 retries from 100 ms
    fake.requests.clear()
    parameters = prompt(f"{PROVIDER}/fake-500")
    parameters["prompt"]["retry_config"] = {"max_retries": 2, "base_delay": 100}
    started = time.monotonic()
    failed = invoke(tenant, "completion", {"data": {"inputs": INPUTS, "parameters": parameters}})
    # THEN it was tried 3 times, backing off 100 then 200 ms, and answered 424 with the provider's message
    assert time.monotonic() - started >= 0.3
    assert len(fake.requests) == 3
    assert failed.status == 424 and "The fake server had an error." in failed.body["message"]


def test_json_schema_outputs_are_checked_against_the_schema(tenant: Tenant, fake: FakeOpenAI) -> None:
    def with_schema(schema: Any) -> dict[str, Any]:
        response_format = {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}
        return prompt(f"{PROVIDER}/fake-model", response_format=response_format)

    # GIVEN the fake answers {"answer": <text>, "confidence": 0.9}
    # WHEN the schema wants confidence as a string
    mismatch = with_schema(
        {"type": "object", "properties": {"confidence": {"type": "string"}}, "required": ["answer"]}
    )
    answer = invoke(tenant, "completion", {"data": {"inputs": INPUTS, "parameters": mismatch}})
    # THEN it is a 424 naming where the model's JSON is off the schema, with the output it gave
    assert answer.status == 424, answer.body
    assert "/confidence" in answer.body["message"] and "'string'" in answer.body["message"]
    assert answer.body["details"]["output"]["confidence"] == 0.9
    # AND chat checks its message's JSON the same way
    chat = invoke(tenant, "chat", {"data": {"inputs": INPUTS, "parameters": mismatch}})
    assert chat.status == 424 and "/confidence" in chat.body["message"]

    # WHEN the schema itself is broken
    fake.requests.clear()
    broken = invoke(
        tenant, "completion", {"data": {"inputs": INPUTS, "parameters": with_schema({"type": "objekt"})}}
    )
    # THEN it is the prompt's error (422), found before any provider call
    assert broken.status == 422 and "not a valid JSON schema" in broken.body["message"]
    assert fake.requests == []

    # WHEN the output matches the schema
    matching = with_schema({"type": "object", "properties": {"confidence": {"type": "number"}}})
    # THEN the parsed object is the output
    assert invoke(tenant, "completion", {"data": {"inputs": INPUTS, "parameters": matching}}).ok()["data"][
        "outputs"
    ] == {"answer": "Say hi to Kai from Baku.", "confidence": 0.9}


def test_azure_and_bedrock_connections_come_from_the_projects_secrets(
    tenant: Tenant, fake: FakeOpenAI
) -> None:
    # GIVEN an Azure deployment and a Bedrock account configured as custom providers in the vault
    azure = {
        "provider": "azure",
        "api_base": fake.url,
        "api_key": "azure-key-from-the-vault",
        "api_version": "2024-06-01",
    }
    bedrock = {
        "provider": "bedrock",
        "api_base": fake.url,  # a VPC endpoint or proxy; without it, the region's public endpoint
        "aws_region_name": "eu-west-3",
        "aws_access_key_id": "AKIAVAULTFAKE0001",
        "aws_secret_access_key": "vault-secret-access-key",
    }
    for name, settings in (("my-azure", azure), ("my-bedrock", bedrock)):
        tenant.client.post(
            "/api/secrets/", {"secret": {"name": name, "kind": "custom", "value": json.dumps(settings)}}
        ).ok()
    fake.requests.clear()
    # WHEN a prompt runs on each
    on_azure = invoke(
        tenant, "completion", {"data": {"inputs": INPUTS, "parameters": prompt("my-azure/fake-deployment")}}
    )
    on_bedrock = invoke(
        tenant,
        "completion",
        {"data": {"inputs": INPUTS, "parameters": prompt("my-bedrock/converse/anthropic.fake-v1")}},
    )
    # THEN Azure was called at its deployment's path, with the API version and the vault's key
    expected = "fake says: Say hi to Kai from Baku."
    assert on_azure.ok()["data"]["outputs"] == expected
    azure_request, bedrock_request = fake.requests
    assert (
        azure_request["path"] == "/openai/deployments/fake-deployment/chat/completions?api-version=2024-06-01"
    )
    assert azure_request["headers"]["api-key"] == "azure-key-from-the-vault"
    # AND Bedrock's Converse API, signed (SigV4) with the vault's AWS key for its region
    assert on_bedrock.ok()["data"]["outputs"] == expected
    assert bedrock_request["path"] == "/model/anthropic.fake-v1/converse"
    signature = bedrock_request["headers"]["authorization"]
    assert signature.startswith("AWS4-HMAC-SHA256 Credential=AKIAVAULTFAKE0001/")
    assert "/eu-west-3/bedrock/aws4_request" in signature
