"""The Services API (completion and chat) through its Mangum handler, calling litellm over real HTTP against a
local OpenAI-compatible fake server configured as a custom provider in the project's secrets vault."""

from __future__ import annotations

import base64
import importlib.util
import json
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fake_openai import AUTH_ERROR_MESSAGE, RATE_LIMIT_MESSAGE, FakeOpenAI, fake_openai_server
from tests.integration.api_client import (
    Response,
    Tenant,
    _ensure_event_loop,
    api_env,
    cognito_pool,
    make_tenant,
    own_events_queue,
)
from tests.integration.test_tracing import tracing_queue
from tests.support import ROOT, LambdaContext, load_event

__all__ = ["api_env", "cognito_pool", "make_tenant", "own_events_queue", "tracing_queue"]

PROVIDER = "fakeai"  # the custom provider secret's name, the prefix of its models
_handler_module: Any = None


def services_handler() -> Any:
    global _handler_module
    if _handler_module is None:
        path = ROOT / "functions" / "services" / "app.py"
        spec = importlib.util.spec_from_file_location("lamina_fn_services_app_for_tests", path)
        assert spec and spec.loader
        _handler_module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(_handler_module)
    return _handler_module.handler


def call_services(
    method: str, path: str, body: Any = None, *, auth: str | None, headers: dict[str, str] | None = None
) -> Response:
    event = load_event("apigw-http-api-v2.json")
    event.update(
        rawPath=path,
        rawQueryString="",
        routeKey="ANY /services/{proxy+}",
        body=json.dumps(body) if body is not None else None,
        isBase64Encoded=False,
    )
    event.pop("queryStringParameters", None)
    event.pop("cookies", None)
    event["headers"] = {"content-type": "application/json", "host": "localhost", **(headers or {})}
    if auth:
        event["headers"]["authorization"] = auth
    event["requestContext"]["http"].update(method=method, path=path)
    event["requestContext"].pop("authorizer", None)
    _ensure_event_loop()
    raw = services_handler()(event, LambdaContext())
    text = raw.get("body") or ""
    if raw.get("isBase64Encoded"):  # Mangum encodes what is not text/* or JSON (NDJSON); API Gateway decodes
        text = base64.b64decode(text).decode()
    headers = raw.get("headers") or {}
    if "json" not in headers.get("content-type", "application/json") or "ndjson" in headers["content-type"]:
        return Response(raw["statusCode"], text, headers)  # a stream's events, as the client receives them
    return Response(raw["statusCode"], json.loads(text) if text else None, headers)


def prompt(
    model: str, content: str = "Say hi to {{name}} from {{place.city}}.", **llm: Any
) -> dict[str, Any]:
    return {
        "prompt": {
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": content},
            ],
            "template_format": "curly",
            "llm_config": {"model": model, **llm},
        }
    }


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with fake_openai_server() as server:
        yield server


@pytest.fixture
def tenant(make_tenant: Callable[..., Tenant], fake: FakeOpenAI) -> Tenant:
    """A project whose vault holds a custom OpenAI-compatible provider pointing at the fake server."""
    tenant = make_tenant()
    settings = {"provider": "openai", "api_base": fake.api_base, "api_key": "sk-fake-from-the-vault-0001"}
    tenant.client.post(
        "/api/secrets/",
        {"secret": {"name": PROVIDER, "kind": "custom", "value": json.dumps(settings)}},
    ).ok()
    return tenant


def invoke(tenant: Tenant, kind: str, body: dict[str, Any], **kwargs: Any) -> Response:
    return call_services("POST", f"/services/{kind}/v0/invoke", body, auth=tenant.key_auth, **kwargs)


def test_completion_and_chat_render_the_prompt_and_call_the_provider_from_the_vault(
    tenant: Tenant, fake: FakeOpenAI
) -> None:
    # GIVEN a prompt with a root and a nested variable, a temperature and a max_tokens
    parameters = prompt(f"{PROVIDER}/fake-model", temperature=0.3, max_tokens=50, top_p=0.9)
    inputs = {"name": "Ada", "place": {"city": "Paris"}}
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    # WHEN the completion service is invoked inside a caller's trace
    fake.requests.clear()
    answer = invoke(
        tenant,
        "completion",
        {"data": {"inputs": inputs, "parameters": parameters}},
        headers={"traceparent": parent},
    )
    # THEN the rendered prompt went to the custom base URL with the vault's key and the llm_config
    body = answer.ok()
    sent = fake.requests[-1]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["headers"]["authorization"] == "Bearer sk-fake-from-the-vault-0001"
    assert sent["body"]["model"] == "fake-model"
    assert sent["body"]["messages"][1]["content"] == "Say hi to Ada from Paris."
    assert (sent["body"]["temperature"], sent["body"]["max_tokens"], sent["body"]["top_p"]) == (0.3, 50, 0.9)
    # AND the answer has Agenta's shape, in the caller's trace, linked by a traceparent header
    assert body["data"]["outputs"] == "fake says: Say hi to Ada from Paris."
    assert body["status"]["code"] == 200 and body["version"]
    assert body["trace_id"] == "0af7651916cd43dd8448eb211c80319c" and len(body["span_id"]) == 16
    assert answer.headers["traceparent"] == f"00-{body['trace_id']}-{body['span_id']}-01"

    # WHEN the prompt asks for a streamed answer
    streamed = invoke(
        tenant,
        "completion",
        {"data": {"inputs": inputs, "parameters": prompt(f"{PROVIDER}/fake-model", stream=True)}},
    ).ok()
    # THEN the provider streamed it (server-sent chunks) and the chunks come back assembled
    assert fake.requests[-1]["body"]["stream"] is True
    assert streamed["data"]["outputs"] == "fake says: Say hi to Ada from Paris."

    # WHEN chat is invoked with a conversation
    conversation = [
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "And 3+3?"},
    ]
    chat = invoke(
        tenant,
        "chat",
        {"data": {"inputs": {**inputs, "messages": conversation}, "parameters": parameters}},
    ).ok()
    # THEN the conversation follows the rendered prompt messages, and the answer is an assistant message
    sent_messages = fake.requests[-1]["body"]["messages"]
    assert [m["content"] for m in sent_messages] == [
        "You are terse.",
        "Say hi to Ada from Paris.",
        "What is 2+2?",
        "4",
        "And 3+3?",
    ]
    assert chat["data"]["outputs"] == {"role": "assistant", "content": "fake says: And 3+3?"}
    assert chat["trace_id"] != body["trace_id"]  # no traceparent sent: a new trace


def test_json_schema_output_is_parsed_and_tool_calls_are_returned(tenant: Tenant, fake: FakeOpenAI) -> None:
    schema = {
        "type": "json_schema",
        "json_schema": {
            "name": "answer",
            "schema": {"type": "object", "properties": {"answer": {"type": "string"}}},
        },
    }
    # WHEN the prompt asks for a JSON schema response
    body = invoke(
        tenant,
        "completion",
        {
            "data": {
                "inputs": {"name": "Bo", "place": {"city": "Oslo"}},
                "parameters": prompt(f"{PROVIDER}/fake-model", response_format=schema),
            }
        },
    ).ok()
    # THEN the response format reached the provider and the output is the parsed object
    assert fake.requests[-1]["body"]["response_format"]["type"] == "json_schema"
    assert body["data"]["outputs"] == {"answer": "Say hi to Bo from Oslo.", "confidence": 0.9}

    # WHEN the prompt declares a tool the model must call
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    parameters = prompt(f"{PROVIDER}/fake-model", "{{city}}", tools=tools, tool_choice="required")
    completion = invoke(
        tenant, "completion", {"data": {"inputs": {"city": "Rome"}, "parameters": parameters}}
    )
    chat = invoke(tenant, "chat", {"data": {"inputs": {"city": "Rome"}, "parameters": parameters}})
    # THEN the tool calls come back (completion: the calls; chat: on the assistant message)
    expected = [
        {
            "id": "call_fake_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": json.dumps({"city": "Rome"})},
        }
    ]
    assert completion.ok()["data"]["outputs"] == expected
    assert chat.ok()["data"]["outputs"]["tool_calls"] == expected
    assert fake.requests[-1]["body"]["tools"][0]["function"]["name"] == "get_weather"


def test_provider_failures_map_to_424_and_429_with_the_providers_message(
    tenant: Tenant, fake: FakeOpenAI
) -> None:
    inputs = {"name": "Cy", "place": {"city": "Rome"}}
    # WHEN the provider refuses the key
    refused = invoke(
        tenant, "completion", {"data": {"inputs": inputs, "parameters": prompt(f"{PROVIDER}/fake-401")}}
    )
    # THEN the caller gets 424 with the provider's own message, not a 500
    assert refused.status == 424, refused.body
    assert AUTH_ERROR_MESSAGE.split(":")[0] in refused.body["message"]

    # WHEN the provider keeps answering 429, under a fast retry policy
    fake.requests.clear()
    parameters = prompt(f"{PROVIDER}/fake-429")
    parameters["prompt"]["retry_config"] = {"max_retries": 2, "base_delay": 10}
    limited = invoke(tenant, "completion", {"data": {"inputs": inputs, "parameters": parameters}})
    # THEN it was retried (1 + 2 attempts), then answered 429 with the provider's message
    assert len(fake.requests) == 3
    assert limited.status == 429, limited.body
    assert RATE_LIMIT_MESSAGE.split(" in ")[0] in limited.body["message"]

    # WHEN a fallback model is configured after the limited one
    fake.requests.clear()
    parameters["prompt"]["fallback_configs"] = [{"model": f"{PROVIDER}/fake-model"}]
    recovered = invoke(tenant, "completion", {"data": {"inputs": inputs, "parameters": parameters}}).ok()
    # THEN the fallback answers
    assert recovered["data"]["outputs"] == "fake says: Say hi to Cy from Rome."
    assert [request["body"]["model"] for request in fake.requests] == ["fake-429"] * 3 + ["fake-model"]


def test_bad_requests_are_400s_that_say_what_is_wrong(tenant: Tenant) -> None:
    # WHEN a variable the prompt uses is missing, in each template format
    for template_format, content in (
        ("curly", "Hi {{name}} from {{place.city}}"),
        ("fstring", "Hi {name} from {place}"),
        ("jinja2", "Hi {{ name }} from {{ place }}"),
        ("mustache", "Hi {{name}} from {{place}}"),
    ):
        parameters = prompt("mock/echo", content)
        parameters["prompt"]["template_format"] = template_format
        answer = invoke(tenant, "completion", {"data": {"inputs": {"name": "Di"}, "parameters": parameters}})
        # THEN it is a 400 naming the variable
        assert answer.status == 400, (template_format, answer.body)
        assert "'place" in answer.body["message"], answer.body
    # AND a nested variable that is missing is named by its path
    nested = invoke(
        tenant,
        "completion",
        {"data": {"inputs": {"name": "Di", "place": {}}, "parameters": prompt("mock/echo")}},
    )
    assert nested.status == 400 and "'place.city'" in nested.body["message"]
    # AND no credential is a 401
    anonymous = call_services("POST", "/services/completion/v0/invoke", {"data": {}}, auth=None)
    assert anonymous.status == 401


def test_parameters_resolve_from_references_to_the_registry(tenant: Tenant) -> None:
    # GIVEN an application whose first revision is deployed to production, and a later undeployed one
    api = tenant.client
    first = prompt("mock/echo", "v1 for {{name}}")
    created = api.post(
        "/api/simple/applications/", {"application": {"slug": "greeter", "data": {"parameters": first}}}
    ).ok()["application"]
    api.post(
        "/api/applications/revisions/deploy",
        {
            "application_revision_ref": {"id": created["revision_id"]},
            "environment_ref": {"slug": "production"},
        },
    ).ok()
    variant_id = created["variant_id"]
    second = api.post(
        "/api/applications/revisions/commit",
        {
            "application_revision": {
                "application_variant_id": variant_id,
                "data": {"parameters": prompt("mock/echo", "v2 for {{name}}")},
            }
        },
    ).ok()["application_revision"]
    inputs = {"data": {"inputs": {"name": "Gus"}}}
    # WHEN chat is invoked by environment (Agenta's reference names), by revision, and by variant (API.md's)
    by_environment = invoke(
        tenant,
        "chat",
        {**inputs, "references": {"application": {"slug": "greeter"}, "environment": {"slug": "production"}}},
    )
    by_revision = invoke(
        tenant, "completion", {**inputs, "references": {"application_revision": {"id": second["id"]}}}
    )
    by_variant = invoke(
        tenant, "completion", {**inputs, "references": {"application_variant_ref": {"id": variant_id}}}
    )
    # THEN each runs the revision its references name
    assert by_environment.ok()["data"]["outputs"]["content"] == "v1 for Gus"
    assert by_revision.ok()["data"]["outputs"] == "v2 for Gus"
    assert by_variant.ok()["data"]["outputs"] == "v2 for Gus"
    # AND an unknown application is a 404, an unknown kind of reference a 422 naming it
    missing = invoke(tenant, "completion", {**inputs, "references": {"application": {"slug": "nope"}}})
    assert missing.status == 404, missing.body
    unknown = invoke(tenant, "completion", {**inputs, "references": {"testset": {"slug": "x"}}})
    assert unknown.status == 422 and "references.testset" in unknown.body["message"]


def test_mock_provider_answers_without_a_key_in_every_template_format(
    make_tenant: Callable[..., Tenant],
) -> None:
    # GIVEN a project with no secrets at all
    tenant = make_tenant()
    for template_format, content in (
        ("curly", "{{greeting}}, {{user.name}}!"),
        ("fstring", "{greeting}, {user[name]}!"),
        ("jinja2", "{{ greeting }}, {{ user.name }}{% if user.vip %} (vip){% endif %}!"),
        ("mustache", "{{greeting}}, {{#user}}{{name}}{{/user}}!"),
    ):
        parameters = prompt("mock/echo", content)
        parameters["prompt"]["template_format"] = template_format
        # WHEN the mock model is invoked
        body = invoke(
            tenant,
            "completion",
            {"data": {"inputs": {"greeting": "Hello", "user": {"name": "Eve"}}, "parameters": parameters}},
        ).ok()
        # THEN it echoes the rendered prompt, deterministically
        assert body["data"]["outputs"] == "Hello, Eve!", template_format
    # AND JSON modes answer JSON shaped by the schema
    schema = {
        "type": "json_schema",
        "json_schema": {
            "name": "x",
            "schema": {
                "type": "object",
                "properties": {"summary": {"type": "string"}, "score": {"type": "number"}},
            },
        },
    }
    body = invoke(
        tenant,
        "completion",
        {
            "data": {
                "inputs": {"name": "Fay", "place": {"city": "Lima"}},
                "parameters": prompt("mock/echo", response_format=schema),
            }
        },
    ).ok()
    assert body["data"]["outputs"] == {"summary": "Say hi to Fay from Lima.", "score": 0.0}


def test_health_and_inspect_do_not_import_litellm() -> None:
    # GIVEN a fresh process that loads the ServicesFunction handler like Lambda does
    script = f"""
import json, sys
sys.path.insert(0, {str(ROOT)!r})
from tests.integration.test_services import call_services
health = call_services("GET", "/services/chat/v0/health", auth=None)
inspect = call_services("POST", "/services/completion/v0/inspect", {{}}, auth=None)
print(json.dumps([health.status, inspect.status, inspect.body["revision"]["data"]["uri"],
                  "litellm" in sys.modules]))
"""
    # WHEN health and inspect are answered
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    # THEN both answer, and litellm was never imported
    assert json.loads(output.stdout.strip().splitlines()[-1]) == [
        200,
        200,
        "agenta:builtin:completion:v0",
        False,
    ]


def test_provider_keys_come_from_the_vault_and_from_the_environment_only_locally(
    tenant: Tenant, make_tenant: Callable[..., Tenant]
) -> None:
    from lamina.errors import DependencyFailedError
    from lamina.services.providers import resolve_model_calls

    # GIVEN a project with an OpenAI key in its vault, and another with none
    key = "sk-vault-openai-0123456789abcdef"
    tenant.client.post(
        "/api/secrets/",
        {"secret": {"name": "openai", "kind": "provider_key", "provider": "openai", "value": key}},
    ).ok()
    keyless = uuid.UUID(make_tenant().project_id)
    # WHEN their models are resolved as a deployed function resolves them
    with_key = resolve_model_calls(
        uuid.UUID(tenant.project_id), ["gpt-4o-mini", f"{PROVIDER}/x"], local=False
    )
    # THEN the vault's key goes with the OpenAI model, the custom provider's settings with its own
    assert with_key[0].provider == "openai" and with_key[0].connection == {"api_key": key}
    assert with_key[1].litellm_model == "openai/x" and with_key[1].connection["api_base"].endswith("/v1")
    # AND without a key, deployed, it is a 424 saying how to add one; locally litellm may read the environment
    with pytest.raises(DependencyFailedError, match="no openai key in this project's secrets"):
        resolve_model_calls(keyless, ["gpt-4o-mini"], local=False)
    assert resolve_model_calls(keyless, ["gpt-4o-mini"], local=True)[0].connection == {}


def test_every_invocation_is_traced_into_lamina_before_the_answer(
    make_tenant: Callable[..., Tenant], tracing_queue: str, lambda_context: Any
) -> None:
    from tests.integration.test_tracing import run_tracing_worker

    tenant = make_tenant()
    # WHEN chat is invoked (the mock model: tokens and no key)
    body = invoke(
        tenant,
        "chat",
        {"data": {"inputs": {"name": "Hal", "place": {"city": "Kyiv"}}, "parameters": prompt("mock/echo")}},
    ).ok()
    # THEN its span was handed to the tracing queue before the answer, and the worker stores it
    run_tracing_worker(tracing_queue, 1, lambda_context)
    trace = tenant.client.get(f"/api/traces/{body['trace_id']}").ok()["trace"]
    span = trace["spans"]["chat"]
    # AND the span carries the inputs, the outputs, the model and the token counts
    assert span["span_id"] == body["span_id"] and span["span_type"] == "chat"
    assert span["attributes"]["ag"]["data"]["inputs"] == {"name": "Hal", "place": {"city": "Kyiv"}}
    assert span["attributes"]["ag"]["data"]["outputs"] == body["data"]["outputs"]
    assert span["attributes"]["ag"]["meta"]["request"]["model"] == "mock/echo"
    assert span["attributes"]["ag"]["metrics"]["tokens"]["incremental"]["total"] > 0
