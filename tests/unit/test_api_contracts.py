"""The contracts at the API's edge, checked over the whole surface so new routes are covered for free:
every operation declares its success response schema and our error body, unusable request bodies are a 400
before any route runs, and tenancy never depends on auth."""

from __future__ import annotations

import ast
import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from lamina.api.app import create_app as create_api_app
from lamina.api.body import check_json_body
from lamina.services.app import create_app as create_services_app
from tests.support import ROOT

TENANCY_PACKAGE = ROOT / "layers" / "core" / "lamina" / "tenancy"


def operations(app: FastAPI) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, methods in app.openapi()["paths"].items()
        for method, operation in methods.items()
    }


def json_schema(operation: dict[str, Any], status: str) -> Any:
    return operation["responses"].get(status, {}).get("content", {}).get("application/json", {}).get("schema")


@pytest.mark.parametrize("app_factory", [create_api_app, create_services_app])
def test_every_operation_declares_its_success_schema_and_the_error_body(app_factory: Any) -> None:
    # GIVEN the OpenAPI document of each FastAPI application
    documented = operations(app_factory())
    missing, errors_undocumented = [], []
    for label, operation in documented.items():
        # THEN each operation's success answer has a JSON schema (a route without a model fails here)
        successes = [status for status in operation["responses"] if status.startswith("2")]
        if not any(json_schema(operation, status) for status in successes):
            missing.append(label)
        # AND its refusals are documented with our error body, not FastAPI's default 422 shape
        if json_schema(operation, "4XX") != {"$ref": "#/components/schemas/ErrorBody"}:
            errors_undocumented.append(label)
    assert not missing, f"operations without a response schema: {sorted(missing)}"
    assert not errors_undocumented


def test_health_documents_503_with_the_same_report() -> None:
    health = operations(create_api_app())["GET /api/health"]
    assert json_schema(health, "200") == json_schema(health, "503")
    assert json_schema(health, "503") == {"$ref": "#/components/schemas/HealthReport"}


def post(app: FastAPI, path: str, content: bytes, content_type: str = "application/json") -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://lamina.test") as client:
            return await client.post(path, content=content, headers={"content-type": content_type})

    return asyncio.run(call())


UNUSABLE_BODIES = {
    "not UTF-8": (b'{"name": "caf\xe9"}', "not valid UTF-8 (byte 0xe9 at position 13)"),
    "UTF-16": ('{"name": "x"}'.encode("utf-16"), "not valid UTF-8 (byte 0xff at position 0)"),
    "a NUL character": (b'{"name": "a\\u0000b"}', "may not contain the NUL character"),
    "a NUL in a key": (b'{"tags": {"a\\u0000": 1}}', "may not contain the NUL character"),
    "nested too deep": (b"[" * 100_000 + b"]" * 100_000, "nests too deeply"),
    "NaN": (b'{"n": NaN}', "NaN is not a JSON number"),
    "Infinity": (b'{"n": [-Infinity]}', "-Infinity is not a JSON number"),
    "a 5000-digit number": (b'{"n": ' + b"9" * 5000 + b"}", "a number in the request body is too long"),
}


@pytest.mark.parametrize("case", sorted(UNUSABLE_BODIES))
def test_an_unusable_json_body_is_a_400_that_says_why(case: str) -> None:
    body, reason = UNUSABLE_BODIES[case]
    # WHEN a JSON route receives it (the guard answers before authentication, so no credential is needed)
    response = post(create_api_app(), "/api/projects", body)
    # THEN the answer is a 400 naming the problem, in our error body
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_body"
    assert reason in response.json()["message"]


def test_usable_bodies_pass_the_guard() -> None:
    # `\\u0000` (an escaped backslash, then "u0000") is six ordinary characters, not a NUL; invalid JSON
    # syntax is left to FastAPI's 422, which points at the error.
    for body in (b'{"name": "\\\\u0000"}', b'{"name": "caf\xc3\xa9"}', b"{not json", b"[" * 50 + b"]" * 50):
        check_json_body(body)


def test_tenancy_never_imports_auth() -> None:
    # Tenancy owns users, keys and roles; auth turns a credential into a principal: auth → tenancy only.
    offenders = []
    for path in sorted(TENANCY_PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            names += _lazy_module_names(node)
            offenders += [
                f"{path.name}:{getattr(node, 'lineno', '?')} {name}"
                for name in names
                if name == "lamina.auth" or name.startswith("lamina.auth.")
            ]
    assert not offenders, offenders
    assert len(list(TENANCY_PACKAGE.glob("*.py"))) >= 5


def _lazy_module_names(node: ast.AST) -> list[str]:
    """`lazy_module("lamina.x")` names a module as surely as an import does."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "lazy_module"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    ):
        return [str(node.args[0].value)]
    return []
