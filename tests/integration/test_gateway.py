"""The local HTTP API end to end: real HTTP in, payload format 2.0 events to in-process functions, real
Cognito tokens (moto) through the JWT authorizer, a Lambda authorizer with its cache."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import boto3
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request
from mangum import Mangum
from moto.server import ThreadedMotoServer
from moto.utilities.utils import load_resource

from lamina_local.authorizers import LambdaAuthorizer, cognito_jwks_rewriter
from lamina_local.gateway import LocalHttpApi, RouteTable
from lamina_local.invoker import CallableInvoker, FakeLambdaContext
from lamina_local.model import AuthorizerSpec, CorsSpec, HttpApiSpec, HttpRoute

pytestmark = pytest.mark.timeout(60)

REGION = "us-east-1"
PASSWORD = "Passw0rd!local"
APP_ORIGIN = "https://app.example.com"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def cognito(moto_endpoint: str) -> dict[str, str]:
    """A user pool with two app clients and a user; real tokens issued by moto through client 'web'."""
    client = boto3.client(
        "cognito-idp",
        endpoint_url=moto_endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    pool_id = client.create_user_pool(PoolName="lamina-users")["UserPool"]["Id"]
    clients = {
        name: client.create_user_pool_client(
            UserPoolId=pool_id, ClientName=name, ExplicitAuthFlows=["USER_PASSWORD_AUTH"]
        )["UserPoolClient"]["ClientId"]
        for name in ("web", "other")
    }
    client.admin_create_user(UserPoolId=pool_id, Username="ada", TemporaryPassword="Tmp-12345!x")
    client.admin_set_user_password(UserPoolId=pool_id, Username="ada", Password=PASSWORD, Permanent=True)

    def login(client_id: str) -> dict[str, str]:
        result = client.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "ada", "PASSWORD": PASSWORD},
        )["AuthenticationResult"]
        return {"access": result["AccessToken"], "id": result["IdToken"]}

    web, other = login(clients["web"]), login(clients["other"])
    return {
        "pool_id": pool_id,
        "client_id": clients["web"],
        "issuer": f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}",
        "access": web["access"],
        "id": web["id"],
        "other_client_access": other["access"],
    }


def echo(event: dict[str, Any], context: FakeLambdaContext) -> dict[str, Any]:
    return {
        "statusCode": 201,
        "headers": {"Content-Type": "application/json", "X-Route": event["routeKey"]},
        "multiValueHeaders": {"X-Multi": ["a", "b"]},
        "cookies": ["session=abc; HttpOnly", "theme=dark"],
        "body": json.dumps(event),
    }


def binary(event: dict[str, Any], context: FakeLambdaContext) -> dict[str, Any]:
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/octet-stream"},
        "body": base64.b64encode(b"\x00\xff" + base64.b64decode(event["body"])).decode(),
        "isBase64Encoded": True,
    }


def raw_result(event: dict[str, Any], context: FakeLambdaContext) -> Any:
    kind = event["pathParameters"]["kind"]
    return {"dict": {"hello": "world"}, "list": [1, 2], "string": "plain text"}[kind]


def fail(event: dict[str, Any], context: FakeLambdaContext) -> Any:
    raise ValueError("boom")


def slow(event: dict[str, Any], context: FakeLambdaContext) -> Any:
    time.sleep(1.0)
    return {"statusCode": 200, "body": "late"}


def slowish(event: dict[str, Any], context: FakeLambdaContext) -> Any:
    time.sleep(0.3)
    return {"ok": True}


def lambda_authorizer(event: dict[str, Any], context: FakeLambdaContext) -> dict[str, Any]:
    token = event["identitySource"][0]
    return {"isAuthorized": token.startswith("allow"), "context": {"user": token, "route": event["routeArn"]}}


def build_api(issuer: str, client_id: str) -> HttpApiSpec:
    return HttpApiSpec(
        logical_id="HttpApi",
        routes=(
            HttpRoute("ANY", "/api/{proxy+}", "Echo", None),
            HttpRoute("GET", "/api/health", "Echo", None),
            HttpRoute("GET", "/api/items/{item_id}", "Echo", None),
            HttpRoute("POST", "/binary", "Binary", None),
            HttpRoute("GET", "/raw/{kind}", "Raw", None),
            HttpRoute("POST", "/fail", "Fail", None),
            HttpRoute("GET", "/slow", "Slow", None, timeout_ms=200),
            HttpRoute("GET", "/slowish", "Slowish", None),
            HttpRoute("GET", "/me", "Echo", "CognitoAuthorizer"),
            HttpRoute("GET", "/custom/{proxy+}", "Echo", "CustomAuthorizer"),
        ),
        authorizers={
            "CognitoAuthorizer": AuthorizerSpec(
                name="CognitoAuthorizer",
                kind="jwt",
                identity_sources=("$request.header.Authorization",),
                issuer=issuer,
                audiences=(client_id,),
            ),
            "CustomAuthorizer": AuthorizerSpec(
                name="CustomAuthorizer",
                kind="lambda",
                identity_sources=("$request.header.Authorization",),
                function="Authorizer",
                result_ttl_s=300,
            ),
        },
        default_authorizer=None,
        cors=CorsSpec(
            allow_origins=(APP_ORIGIN,),
            allow_methods=("GET", "POST"),
            allow_headers=("authorization", "content-type"),
            expose_headers=("apigw-requestid",),
            allow_credentials=True,
            max_age_s=600,
        ),
    )


Scenario = Callable[[httpx.AsyncClient, LocalHttpApi, CallableInvoker], Awaitable[None]]


@pytest.fixture
def run_gateway(moto_endpoint: str, cognito: dict[str, str]) -> Callable[[Scenario], None]:
    """Runs a scenario against a gateway on a free port, in one event loop, then shuts everything down."""

    def run(scenario: Scenario) -> None:
        invoker = CallableInvoker(
            {
                "Echo": echo,
                "Binary": binary,
                "Raw": raw_result,
                "Fail": fail,
                "Slow": slow,
                "Slowish": slowish,
                "Authorizer": lambda_authorizer,
            }
        )
        gateway = LocalHttpApi(
            build_api(cognito["issuer"], cognito["client_id"]),
            invoker,
            port=0,
            jwks_url_rewriter=cognito_jwks_rewriter(moto_endpoint),
        )

        async def main() -> None:
            await gateway.start()
            try:
                async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
                    await scenario(client, gateway, invoker)
            finally:
                await gateway.stop()

        asyncio.run(main())

    return run


def events_seen(invoker: CallableInvoker, function: str = "Echo") -> list[dict[str, Any]]:
    return [event for name, event in invoker.calls if name == function]


def test_routes_match_by_specificity_and_unmatched_is_404(run_gateway: Callable[[Scenario], None]) -> None:
    async def scenario(client: httpx.AsyncClient, gateway: LocalHttpApi, invoker: CallableInvoker) -> None:
        # GIVEN exact, {param} and {proxy+} routes overlapping under /api
        # WHEN requests hit each of them
        exact = await client.get("/api/health")
        param = await client.get("/api/items/42")
        greedy = await client.delete("/api/items/42/tags/x%20y")
        missing = await client.get("/nowhere")
        wrong_method = await client.get("/binary")

        # THEN the most specific route wins, ANY matches any method, the rest is API Gateway's 404
        assert exact.headers["x-route"] == "GET /api/health"
        assert param.headers["x-route"] == "GET /api/items/{item_id}"
        assert param.json()["pathParameters"] == {"item_id": "42"}
        assert greedy.headers["x-route"] == "ANY /api/{proxy+}"
        assert greedy.json()["pathParameters"] == {"proxy": "items/42/tags/x y"}
        assert (missing.status_code, missing.json()) == (404, {"message": "Not Found"})
        assert wrong_method.status_code == 404
        assert missing.headers["apigw-requestid"]
        assert gateway.requests_per_route["ANY /api/{proxy+}"] == 1

        # AND concurrent requests are served concurrently on the one event loop
        started = time.perf_counter()
        responses = await asyncio.gather(*(client.get("/slowish") for _ in range(8)))
        assert {response.status_code for response in responses} == {200}
        assert time.perf_counter() - started < 1.5  # 8 x 0.3 s handlers, overlapping

    run_gateway(scenario)


def test_function_sees_a_format_2_event_and_its_response_is_mapped(
    run_gateway: Callable[[Scenario], None],
) -> None:
    async def scenario(client: httpx.AsyncClient, gateway: LocalHttpApi, invoker: CallableInvoker) -> None:
        # GIVEN a request with repeated query parameters and headers, cookies and a JSON body
        response = await client.post(
            "/api/things?tag=a&tag=b&q=",
            content=b'{"name": "x"}',
            headers=[
                ("content-type", "application/json"),
                ("x-multi", "one"),
                ("x-multi", "two"),
                ("cookie", "a=1; b=2"),
                ("user-agent", "lamina-test"),
            ],
        )

        # THEN the function saw the v2 event AWS would send
        event = response.json()
        assert event["version"] == "2.0"
        assert event["routeKey"] == "ANY /api/{proxy+}"
        assert event["rawPath"] == "/api/things"
        assert event["rawQueryString"] == "tag=a&tag=b&q="
        assert event["queryStringParameters"] == {"tag": "a,b", "q": ""}
        assert event["cookies"] == ["a=1", "b=2"]
        assert event["headers"]["x-multi"] == "one,two"
        assert "cookie" not in event["headers"]
        assert event["body"] == '{"name": "x"}' and event["isBase64Encoded"] is False
        assert "stageVariables" not in event and "authorizer" not in event["requestContext"]
        assert event["headers"]["x-amzn-trace-id"].startswith("Root=1-")
        context = event["requestContext"]
        assert context["http"] == {
            "method": "POST",
            "path": "/api/things",
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": "lamina-test",
        }
        assert context["stage"] == "$default" and context["routeKey"] == "ANY /api/{proxy+}"
        assert context["requestId"] == response.headers["apigw-requestid"]
        time.strptime(context["time"], "%d/%b/%Y:%H:%M:%S +0000")
        assert abs(context["timeEpoch"] / 1000 - time.time()) < 60
        # AND statusCode, headers, multiValueHeaders and cookies came back as HTTP
        assert response.status_code == 201
        assert response.headers["x-route"] == "ANY /api/{proxy+}"
        assert response.headers.get_list("x-multi") == ["a", "b"]
        assert response.headers.get_list("set-cookie") == ["session=abc; HttpOnly", "theme=dark"]

    run_gateway(scenario)


def test_binary_bodies_and_results_without_status_code(run_gateway: Callable[[Scenario], None]) -> None:
    async def scenario(client: httpx.AsyncClient, gateway: LocalHttpApi, invoker: CallableInvoker) -> None:
        # WHEN a protobuf body is posted
        binary_response = await client.post(
            "/binary", content=b"\x01\x02", headers={"content-type": "application/x-protobuf"}
        )
        # THEN it reached the function base64-encoded and the base64 result came back as bytes
        event = events_seen(invoker, "Binary")[0]
        assert event["isBase64Encoded"] is True and event["body"] == "AQI="
        assert binary_response.content == b"\x00\xff\x01\x02"

        # WHEN functions return JSON without statusCode
        as_dict, as_list, as_string = [
            await client.get(f"/raw/{kind}") for kind in ("dict", "list", "string")
        ]
        # THEN API Gateway's defaults apply: 200, application/json, the output as the body
        assert (as_dict.status_code, as_dict.json()) == (200, {"hello": "world"})
        assert as_dict.headers["content-type"] == "application/json"
        assert as_list.json() == [1, 2]
        assert as_string.text == "plain text"

    run_gateway(scenario)


def test_a_text_body_that_is_not_utf8_reaches_the_function_base64_encoded(
    run_gateway: Callable[[Scenario], None],
) -> None:
    async def scenario(client: httpx.AsyncClient, gateway: LocalHttpApi, invoker: CallableInvoker) -> None:
        # WHEN a "JSON" body that is not UTF-8 is posted
        response = await client.post(
            "/api/things", content=b'{"name": "caf\xe9"}', headers={"content-type": "application/json"}
        )
        # THEN the gateway does not fail: the function gets the exact bytes, base64-encoded
        assert response.status_code == 201, response.text
        event = events_seen(invoker)[-1]
        assert event["isBase64Encoded"] is True
        assert base64.b64decode(event["body"]) == b'{"name": "caf\xe9"}'

    run_gateway(scenario)


def test_errors_timeouts_and_oversized_requests(run_gateway: Callable[[Scenario], None]) -> None:
    async def scenario(client: httpx.AsyncClient, gateway: LocalHttpApi, invoker: CallableInvoker) -> None:
        failed = await client.post("/fail")
        assert (failed.status_code, failed.json()) == (500, {"message": "Internal Server Error"})

        started = time.perf_counter()
        timed_out = await client.get("/slow")
        assert (timed_out.status_code, timed_out.json()) == (503, {"message": "Service Unavailable"})
        assert time.perf_counter() - started < 0.9  # answered at the 200 ms integration timeout

        calls_before = len(invoker.calls)
        too_large = await client.post("/api/upload", content=b"x" * (10 * 1024 * 1024 + 1))
        assert (too_large.status_code, too_large.json()) == (413, {"message": "Request Entity Too Large"})
        assert len(invoker.calls) == calls_before
        # AND the connection still serves the next request
        assert (await client.get("/api/health")).status_code == 201

    run_gateway(scenario)


def test_cors_preflight_and_response_headers(run_gateway: Callable[[Scenario], None]) -> None:
    async def scenario(client: httpx.AsyncClient, gateway: LocalHttpApi, invoker: CallableInvoker) -> None:
        # WHEN a browser preflights a request from the app's origin
        preflight = await client.options(
            "/api/things",
            headers={
                "origin": APP_ORIGIN,
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type",
            },
        )
        # THEN the gateway answers it without invoking anything
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == APP_ORIGIN
        assert preflight.headers["access-control-allow-methods"] == "GET,POST"
        assert preflight.headers["access-control-allow-headers"] == "authorization,content-type"
        assert preflight.headers["access-control-allow-credentials"] == "true"
        assert preflight.headers["access-control-max-age"] == "600"
        assert invoker.calls == []

        # AND a foreign origin gets no CORS grant
        foreign = await client.options(
            "/api/things", headers={"origin": "https://evil.example", "access-control-request-method": "POST"}
        )
        assert "access-control-allow-origin" not in foreign.headers

        # AND normal responses carry the origin grant
        normal = await client.get("/api/health", headers={"origin": APP_ORIGIN})
        assert normal.headers["access-control-allow-origin"] == APP_ORIGIN
        assert normal.headers["access-control-expose-headers"] == "apigw-requestid"
        assert normal.headers["access-control-allow-credentials"] == "true"

    run_gateway(scenario)


def moto_signing_key() -> Any:
    """moto signs every Cognito token with this published key; we use it to mint an expired token."""
    return jwt.PyJWK(load_resource("cognitoidp/resources/jwks-private.json")).key


def test_jwt_authorizer_with_real_cognito_tokens(
    run_gateway: Callable[[Scenario], None], cognito: dict[str, str]
) -> None:
    valid_claims = jwt.decode(cognito["access"], options={"verify_signature": False})
    expired = jwt.encode(
        {**valid_claims, "exp": int(time.time()) - 60},
        moto_signing_key(),
        algorithm="RS256",
        headers={"kid": "dummy"},
    )
    forged_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(valid_claims, forged_key, algorithm="RS256", headers={"kid": "dummy"})
    unsigned = jwt.encode(valid_claims, "", algorithm="none", headers={"kid": "dummy"})
    bad_tokens = {
        "missing": None,
        "garbage": "Bearer not.a.jwt",
        "expired": f"Bearer {expired}",
        "wrong client": f"Bearer {cognito['other_client_access']}",
        "alg none": f"Bearer {unsigned}",
        "hs256": "Bearer "
        + jwt.encode(
            valid_claims, "a-shared-secret-of-32-bytes-long!", algorithm="HS256", headers={"kid": "dummy"}
        ),
        "forged": f"Bearer {forged}",
    }

    async def scenario(client: httpx.AsyncClient, gateway: LocalHttpApi, invoker: CallableInvoker) -> None:
        # WHEN the user's real access and ID tokens are presented
        access = await client.get("/me", headers={"authorization": f"Bearer {cognito['access']}"})
        id_token = await client.get("/me", headers={"authorization": cognito["id"]})
        # THEN both pass, and the claims (as strings) and scopes reach the function
        assert access.status_code == 201, access.text
        assert id_token.status_code == 201, id_token.text
        jwt_context = access.json()["requestContext"]["authorizer"]["jwt"]
        assert jwt_context["claims"]["sub"] == valid_claims["sub"]
        assert jwt_context["claims"]["client_id"] == cognito["client_id"]
        assert jwt_context["claims"]["exp"] == str(valid_claims["exp"])
        assert jwt_context["scopes"] == ["aws.cognito.signin.user.admin"]

        # WHEN anything else is presented THEN it is 401 and the function never runs
        calls_before = len(invoker.calls)
        for label, header in bad_tokens.items():
            headers = {"authorization": header} if header else {}
            response = await client.get("/me", headers=headers)
            assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"}), label
        assert len(invoker.calls) == calls_before
        # AND the JWKS was fetched once from the emulator, not per request
        assert gateway.jwks.fetch_count == 1

    run_gateway(scenario)


def test_lambda_authorizer_allows_denies_and_caches(run_gateway: Callable[[Scenario], None]) -> None:
    async def scenario(client: httpx.AsyncClient, gateway: LocalHttpApi, invoker: CallableInvoker) -> None:
        # WHEN the same allowed identity calls twice, a denied one twice, and one comes without identity
        first = await client.get("/custom/a?x=1", headers={"authorization": "allow-ada"})
        second = await client.get("/custom/b", headers={"authorization": "allow-ada"})
        denied = [await client.get("/custom/a", headers={"authorization": "deny-eve"}) for _ in range(2)]
        anonymous = await client.get("/custom/a")

        # THEN allowed calls pass with the authorizer's context, denials are 403, no identity is 401
        assert first.status_code == second.status_code == 201
        assert first.json()["requestContext"]["authorizer"]["lambda"]["user"] == "allow-ada"
        assert [r.status_code for r in denied] == [403, 403]
        assert denied[0].json() == {"message": "Forbidden"}
        assert (anonymous.status_code, anonymous.json()) == (401, {"message": "Unauthorized"})
        # AND the authorizer ran once per identity (result_ttl_s caches allow and deny alike)
        authorizer_events = events_seen(invoker, "Authorizer")
        assert len(authorizer_events) == 2
        event = authorizer_events[0]
        assert event["type"] == "REQUEST" and event["version"] == "2.0"
        assert event["identitySource"] == ["allow-ada"]
        assert (
            event["routeArn"]
            == f"arn:aws:execute-api:us-east-1:123456789012:{gateway.api_id}/$default/GET/custom/a"
        )
        assert event["queryStringParameters"] == {"x": "1"}

    run_gateway(scenario)


def test_an_authorizer_down_with_its_database_or_timed_out_answers_503_with_retry_after(
    run_gateway: Callable[[Scenario], None], stack_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    from lamina.auth.authorizer import authorize
    from tests.support import configure_library

    # GIVEN the real authorizer, its database unreachable (nothing listens on that port)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    configure_library(
        {**stack_env, "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{closed_port}/postgres"}
    )

    def sleeps_past_its_timeout(event: dict[str, Any], context: FakeLambdaContext) -> dict[str, Any]:
        time.sleep(1.0)
        return {"isAuthorized": True}

    def has_a_bug(event: dict[str, Any], context: FakeLambdaContext) -> dict[str, Any]:
        raise KeyError("identitySource")

    async def scenario(client: httpx.AsyncClient, gateway: LocalHttpApi, invoker: CallableInvoker) -> None:
        # WHEN a request needs it
        invoker.handlers["Authorizer"] = lambda event, context: authorize(event)
        outage = await client.get("/custom/a", headers={"authorization": "ApiKey lmn_abc.secret"})
        # ... and when the authorizer does not answer within its limit (here 0.3 s)
        invoker.handlers["Authorizer"] = sleeps_past_its_timeout
        authorizer = gateway.authorizers["CustomAuthorizer"]
        assert isinstance(authorizer, LambdaAuthorizer)
        authorizer.timeout_s = 0.3
        with caplog.at_level(logging.WARNING, logger="lamina_local.authorizers"):
            timed_out = await client.get("/custom/a", headers={"authorization": "allow-slow"})
        # ... and when it fails with a bug
        invoker.handlers["Authorizer"] = has_a_bug
        bug = await client.get("/custom/a", headers={"authorization": "allow-bug"})

        # THEN the outage and the timeout are a retryable 503 with a message and Retry-After, never a 500
        for response in (outage, timed_out):
            assert (response.status_code, response.json()) == (503, {"message": "Service Unavailable"})
            assert int(response.headers["retry-after"]) > 0
        # ... the timeout is logged as Lambda words it
        assert "Task timed out after 0.30 seconds" in caplog.text
        # ... and a bug is still API Gateway's 500
        assert (bug.status_code, bug.json()) == (500, {"message": "Internal Server Error"})
        assert "retry-after" not in bug.headers

    run_gateway(scenario)


def test_a_fastapi_app_behind_mangum_runs_unchanged() -> None:
    # GIVEN the way Lamina ships its APIs: FastAPI wrapped by Mangum, behind the gateway
    app = FastAPI()

    @app.post("/api/items/{item_id}")
    async def update_item(item_id: int, request: Request) -> dict[str, Any]:
        return {
            "item_id": item_id,
            "tag": request.query_params.getlist("tag"),
            "session": request.cookies.get("session"),
            "body": await request.json(),
        }

    handler = Mangum(app, lifespan="off")
    api = HttpApiSpec("HttpApi", (HttpRoute("ANY", "/api/{proxy+}", "ApiFunction", None),), {}, None, None)
    gateway = LocalHttpApi(api, CallableInvoker({"ApiFunction": handler}), port=0)

    async def main() -> httpx.Response:
        await gateway.start()
        try:
            async with httpx.AsyncClient(base_url=gateway.url) as client:
                return await client.post(
                    "/api/items/7?tag=a&tag=b", json={"name": "x"}, headers={"cookie": "session=s1; other=2"}
                )
        finally:
            await gateway.stop()

    # WHEN a request goes through
    response = asyncio.run(main())

    # THEN the app saw the path, the repeated query (from rawQueryString), the cookies and the body
    assert response.status_code == 200, response.text
    assert response.json() == {"item_id": 7, "tag": ["a", "b"], "session": "s1", "body": {"name": "x"}}


def test_route_table_precedence_follows_api_gateway() -> None:
    # GIVEN the routes of the AWS documentation example plus $default
    table = RouteTable(
        (
            HttpRoute("GET", "/pets/dog/1", "F", None),
            HttpRoute("GET", "/pets/dog/{id}", "F", None),
            HttpRoute("GET", "/pets/{proxy+}", "F", None),
            HttpRoute("ANY", "/{proxy+}", "F", None),
            HttpRoute("ANY", "$default", "F", None),
        )
    )

    def route_for(method: str, path: str) -> str:
        matched = table.match(method, path)
        assert matched is not None
        return matched[0].route_key

    # THEN each request lands where AWS documents it lands
    assert route_for("GET", "/pets/dog/1") == "GET /pets/dog/1"
    assert route_for("GET", "/pets/dog/2") == "GET /pets/dog/{id}"
    assert route_for("GET", "/pets/cat/1") == "GET /pets/{proxy+}"
    assert route_for("POST", "/pets/cat/1") == "ANY /{proxy+}"
    assert route_for("GET", "/") == "$default"
