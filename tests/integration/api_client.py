"""Shared by the accounts/registry/secrets tests: the API function driven through its Mangum handler with
HTTP API v2 events, a moto Cognito pool, and tenants (a Cognito user + project + API key) made on demand."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.support import ROOT, LambdaContext, configure_library, load_event

_handler_module: Any = None


def api_handler() -> Any:
    """functions/api/app.py imported like Lambda imports it (once per test session)."""
    global _handler_module
    if _handler_module is None:
        path = ROOT / "functions" / "api" / "app.py"
        spec = importlib.util.spec_from_file_location("lamina_fn_api_app_for_tests", path)
        assert spec and spec.loader
        _handler_module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(_handler_module)
    return _handler_module.handler


def _ensure_event_loop() -> None:
    """Mangum runs on the thread's current loop; an earlier `asyncio.run()` in this process leaves none."""
    import asyncio

    try:
        asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str]

    def ok(self) -> Any:
        assert 200 <= self.status < 300, f"{self.status}: {self.body}"
        return self.body


class ApiClient:
    """Calls the API handler with the HTTP API v2 event shape; `auth` is the Authorization header."""

    def __init__(self, auth: str | None = None, *, project_id: str | None = None) -> None:
        self.auth = auth
        self.project_id = project_id
        self.context = LambdaContext()

    def as_(self, auth: str | None) -> ApiClient:
        return ApiClient(auth, project_id=self.project_id)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        event = load_event("apigw-http-api-v2.json")
        raw_query = urlencode(query or {})
        event.update(
            rawPath=path,
            rawQueryString=raw_query,
            routeKey="ANY /api/{proxy+}",
            body=json.dumps(body) if body is not None else None,
            isBase64Encoded=False,
        )
        event.pop("queryStringParameters", None)
        if query:
            event["queryStringParameters"] = dict(query)
        event["headers"] = {"content-type": "application/json", "host": "localhost", **(headers or {})}
        if self.auth is not None:
            event["headers"]["authorization"] = self.auth
        event.pop("cookies", None)
        event["requestContext"]["http"].update(method=method, path=path)
        event["requestContext"].pop("authorizer", None)
        _ensure_event_loop()
        raw = api_handler()(event, self.context)
        text = raw.get("body") or ""
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return Response(raw["statusCode"], parsed, raw.get("headers") or {})

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Response:
        return self.request("POST", path, body if body is not None else {}, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> Response:
        return self.request("PUT", path, body if body is not None else {}, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Response:
        return self.request("DELETE", path, **kwargs)


@dataclass
class Tenant:
    email: str
    password: str
    user_id: str
    project_id: str
    api_key: str
    client: ApiClient

    @property
    def key_auth(self) -> str:
        return f"ApiKey {self.api_key}"


@pytest.fixture(scope="session")
def cognito_pool(backends: Any) -> tuple[str, str]:
    """One moto user pool + app client for the session."""
    import boto3

    from lamina_local.backends import EMULATOR_CREDENTIALS

    cognito = boto3.session.Session(
        region_name="us-east-1",
        aws_access_key_id=EMULATOR_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=EMULATOR_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    ).client("cognito-idp", endpoint_url=backends.aws.url)
    pool_id = cognito.create_user_pool(
        PoolName=f"lamina-test-{uuid.uuid4().hex[:6]}", UsernameAttributes=["email"]
    )["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="lamina-test", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    return pool_id, client_id


@pytest.fixture(scope="session")
def own_events_queue(backends: Any, aws_resources: dict[str, str]) -> str:
    """An events queue of these tests' own: their domain events never land in other tests' queue."""
    import boto3

    from lamina_local.backends import EMULATOR_CREDENTIALS

    sqs = boto3.session.Session(
        region_name="us-east-1",
        aws_access_key_id=EMULATOR_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=EMULATOR_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    ).client("sqs", endpoint_url=backends.aws.url)
    return str(sqs.create_queue(QueueName=f"lamina-test-accounts-events-{uuid.uuid4().hex[:6]}")["QueueUrl"])


@pytest.fixture
def api_env(
    stack_env: dict[str, str],
    cognito_pool: tuple[str, str],
    own_events_queue: str,
) -> Iterator[dict[str, str]]:
    """stack_env plus the Cognito pool the API verifies tokens against, and its own events queue."""
    pool_id, client_id = cognito_pool
    env = {
        **stack_env,
        "COGNITO_USER_POOL_ID": pool_id,
        "COGNITO_CLIENT_ID": client_id,
        "EVENTS_QUEUE_URL": own_events_queue,
    }
    configure_library(env)
    yield env


@pytest.fixture
def make_tenant(api_env: dict[str, str]) -> Callable[..., Tenant]:
    """A new Cognito user with their own organization/workspace/project and an API key (the `lamina up` seed)."""
    from lamina_local.seed import DEFAULT_PASSWORD, seed_local

    def make(email: str | None = None) -> Tenant:
        email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
        seeded = seed_local(email, DEFAULT_PASSWORD)
        return Tenant(
            email=email,
            password=DEFAULT_PASSWORD,
            user_id=seeded.user_id,
            project_id=seeded.project_id,
            api_key=seeded.api_key,
            client=ApiClient(f"ApiKey {seeded.api_key}"),
        )

    return make


VALID_PROMPT: dict[str, Any] = {
    "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Translate {{text}} into {{language}}."},
    ],
    "template_format": "curly",
    "input_keys": ["text", "language"],
    "llm_config": {"model": "gpt-4o-mini", "temperature": 0.2, "max_tokens": 256},
}


def prompt_data(**changes: Any) -> dict[str, Any]:
    return {"parameters": {"prompt": {**VALID_PROMPT, **changes}}}


# How long uvicorn may take to start listening before a test gives up.
SERVER_START_TIMEOUT_S = 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def api_over_http(create_app: Callable[[], Any] | None = None) -> Iterator[str]:
    """Lamina's API app (or the app `create_app` builds, e.g. the Services app) served over HTTP on loopback
    (the same app the function wraps with Mangum), for real clients (Agenta's SDK, OpenTelemetry's exporter,
    a streaming reader); yields its base URL."""
    import uvicorn

    if create_app is None:
        from lamina.api.app import create_app

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="lamina-http", daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
