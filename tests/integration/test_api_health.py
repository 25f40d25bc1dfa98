"""ApiFunction through Mangum, fed the real HTTP API v2 event shape."""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType
from typing import Any

import pytest

from tests.support import ROOT, LambdaContext, configure_library, load_event

# AWS calls go to AWS_ENDPOINT_URL: moto by default, LocalStack under `make test-localstack`.
pytestmark = pytest.mark.localstack


def load_handler_module(function_dir: str, module: str = "app") -> ModuleType:
    """Import a function's handler module by path, as Lambda does from its CodeUri."""
    path = ROOT / "functions" / function_dir / f"{module}.py"
    spec = importlib.util.spec_from_file_location(f"lamina_fn_{function_dir}_{module}", path)
    assert spec and spec.loader
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def http_event(method: str, path: str, body: str | None = None) -> dict[str, Any]:
    event = load_event("apigw-http-api-v2.json")
    event.update(
        rawPath=path, rawQueryString="", routeKey="ANY /api/{proxy+}", body=body, isBase64Encoded=False
    )
    event.pop("queryStringParameters", None)
    event["headers"] = {"content-type": "application/json", "host": "localhost"}
    event["requestContext"]["http"].update(method=method, path=path)
    return event


def test_health_reports_every_backend_reachable(
    stack_env: dict[str, str], lambda_context: LambdaContext
) -> None:
    # GIVEN the API function's handler module, imported like Lambda imports it
    api = load_handler_module("api")
    # WHEN API Gateway delivers GET /api/health
    response = api.handler(http_event("GET", "/api/health"), lambda_context)
    # THEN every backend answered
    body = json.loads(response["body"])
    assert response["statusCode"] == 200, body
    assert body["status"] == "ok"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "ok",
        "redis": "ok",
        "s3": "ok",
    }


def test_health_is_503_and_names_the_broken_backend(
    stack_env: dict[str, str], lambda_context: LambdaContext
) -> None:
    # GIVEN a bucket that does not exist
    configure_library({**stack_env, "LAMINA_BUCKET": "no-such-bucket"})
    api = load_handler_module("api")
    # WHEN health is asked
    response = api.handler(http_event("GET", "/api/health"), lambda_context)
    # THEN it is 503 and says which check failed, while the others pass
    body = json.loads(response["body"])
    assert response["statusCode"] == 503
    assert body["checks"]["s3"]["status"] == "error"
    assert body["checks"]["database"]["status"] == "ok"


def test_unknown_route_and_bad_json_are_clear_4xx(
    stack_env: dict[str, str], lambda_context: LambdaContext
) -> None:
    api = load_handler_module("api")
    response = api.handler(http_event("GET", "/api/nope"), lambda_context)
    assert response["statusCode"] == 404
    assert json.loads(response["body"])["message"]
