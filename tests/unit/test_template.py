"""infra/template.yaml: translates with the SAM translator, lints clean, and keeps the contract others use.

Offline: the SAM translator gets a managed-policy map stub instead of IAM, and local CodeUri folders are
swapped for S3 URIs exactly as `sam package` would; an autouse fixture fails any non-loopback connection.
"""

from __future__ import annotations

import copy
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.api import lint
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from lamina.queues.names import Queue
from lamina_local.template import read_template_file

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "infra" / "template.yaml"
REGION = "us-east-1"

# Lambda's SQS integration needs the visibility timeout to cover this many consumer timeouts.
VISIBILITY_TIMEOUT_TO_FUNCTION_TIMEOUT = 6
DEAD_LETTER_RETENTION_S = 14 * 24 * 3600

QUEUES = tuple(queue.value for queue in Queue)
QUEUE_WORKERS = {f"{q.capitalize()}Queue": f"{q.capitalize()}WorkerFunction" for q in QUEUES}
HTTP_FUNCTIONS = ("ApiFunction", "ServicesFunction", "AuthorizerFunction")
FUNCTIONS = (*HTTP_FUNCTIONS, *QUEUE_WORKERS.values(), "CronFunction")

GLOBAL_ENVIRONMENT = {
    "LAMINA_ENV",
    "DATABASE_URL",
    "REDIS_URL",
    "LAMINA_SECRET_KEY",
    "LAMINA_BUCKET",
    "LAMINA_KMS_KEY_ID",
    *(f"{q.upper()}_QUEUE_URL" for q in QUEUES),
    "COGNITO_USER_POOL_ID",
    "COGNITO_CLIENT_ID",
    "LAMINA_RUNNER_URL",
    "LAMINA_LOG_LEVEL",
    "LITELLM_LOCAL_MODEL_COST_MAP",
}
UNAUTHENTICATED_ROUTES = {
    ("get", "/api/health"),
    ("get", "/api/openapi.json"),
    ("get", "/api/docs"),
    ("get", "/api/auth/config"),
    ("get", "/services/{kind}/v0/health"),
}
SCHEDULED_TASKS = {
    "DueTriggers": "due_triggers",
    "FlushOutbox": "flush_outbox",
    "Watchdog": "watchdog",
    "Retention": "retention",
}

# The transformed template no longer mentions CorsAllowOrigins: SAM substitutes it into the OpenAPI body.
TRANSFORMED_FINDINGS_ALLOWED = {("W2001", "Parameter CorsAllowOrigins not used.")}


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail the test on any connection that leaves the machine."""
    real_connect = socket.socket.connect

    def loopback_only_connect(sock: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (host.startswith("127.") or host in ("::1", "localhost")):
            raise AssertionError(f"network access attempted: {address!r}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only_connect)
    yield


@pytest.fixture(scope="module")
def template_text() -> str:
    return TEMPLATE_PATH.read_text()


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    # The same reader `lamina up` uses: short-form tags become their long form.
    return read_template_file(TEMPLATE_PATH)


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return dict(template["Resources"])


def _packaged(template: dict[str, Any]) -> dict[str, Any]:
    """The template as `sam package` leaves it: local code folders replaced by S3 URIs."""
    packaged = copy.deepcopy(template)
    for logical_id, resource in packaged["Resources"].items():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str):
                folder = (TEMPLATE_PATH.parent / properties[key]).resolve()
                assert folder.is_relative_to(ROOT), f"{logical_id}.{key} points outside the repository"
                properties[key] = f"s3://lamina-artifacts/{logical_id}.zip"
    return packaged


@pytest.fixture(scope="module")
def transformed(template: dict[str, Any]) -> dict[str, Any]:
    translator = Translator(None, Parser(), boto_session=boto3.Session(region_name=REGION))
    output: dict[str, Any] = translator.translate(
        _packaged(template),
        parameter_values={},
        # Stands in for ManagedPolicyLoader, which would list policies through IAM.
        get_managed_policy_map=lambda: {},
    )
    return output


@pytest.fixture(scope="module")
def transformed_resources(transformed: dict[str, Any]) -> dict[str, Any]:
    return dict(transformed["Resources"])


def _of_type(resources: dict[str, Any], resource_type: str) -> dict[str, Any]:
    return {lid: r for lid, r in resources.items() if r["Type"] == resource_type}


def _findings(matches: list[Any]) -> list[tuple[str, str, str]]:
    return [(m.rule.id, m.message, "/".join(str(p) for p in m.path)) for m in matches]


def test_sam_template_lints_clean(template_text: str) -> None:
    # GIVEN the SAM template as written
    # WHEN cfn-lint validates it against the SAM and CloudFormation schemas
    findings = _findings(lint(template_text, regions=[REGION]))
    # THEN there is not a single error, warning or informational finding
    assert findings == []


def test_transformed_template_lints_clean(transformed: dict[str, Any]) -> None:
    # GIVEN the CloudFormation the SAM transform produces
    # WHEN cfn-lint validates that
    findings = _findings(lint(json.dumps(transformed), regions=[REGION]))
    # THEN only the justified CORS-parameter finding remains
    assert {(rule, message) for rule, message, _ in findings} <= TRANSFORMED_FINDINGS_ALLOWED, findings


def test_transform_yields_the_whole_stack(transformed_resources: dict[str, Any]) -> None:
    # GIVEN the transformed template
    functions = _of_type(transformed_resources, "AWS::Lambda::Function")
    queues = _of_type(transformed_resources, "AWS::SQS::Queue")
    # THEN every function, queue pair, layer, schedule and the runner are there
    assert set(functions) == set(FUNCTIONS)
    assert all(functions[f]["Properties"]["Runtime"] == "python3.12" for f in FUNCTIONS)
    assert set(queues) == {f"{q.capitalize()}{kind}" for q in QUEUES for kind in ("Queue", "DeadLetterQueue")}
    assert len(_of_type(transformed_resources, "AWS::Lambda::LayerVersion")) == 1
    assert len(_of_type(transformed_resources, "AWS::Events::Rule")) == len(SCHEDULED_TASKS)
    assert len(_of_type(transformed_resources, "AWS::ApiGatewayV2::Api")) == 1
    for singleton in ("AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient"):
        assert len(_of_type(transformed_resources, singleton)) == 1, singleton
    assert set(_of_type(transformed_resources, "AWS::S3::Bucket")) == {"WorkspaceBucket", "WebBucket"}
    assert transformed_resources["SecretsKey"]["Properties"]["EnableKeyRotation"] is True
    # The runner service needs a VPC; without one the stack is still valid.
    assert transformed_resources["RunnerService"]["Condition"] == "HasVpc"
    task = transformed_resources["RunnerTaskDefinition"]
    assert task["Properties"]["ContainerDefinitions"][0]["PortMappings"] == [
        {"ContainerPort": 8765, "Protocol": "tcp"}
    ]
    assert task["Metadata"]["Lamina"]["Port"] == 8765


def test_each_queue_feeds_its_worker_with_partial_batch_failures(
    transformed_resources: dict[str, Any],
) -> None:
    # GIVEN the event source mappings SAM generated
    mappings = _of_type(transformed_resources, "AWS::Lambda::EventSourceMapping").values()
    wiring = {}
    for mapping in mappings:
        properties = mapping["Properties"]
        # THEN each reports per-message failures and consumes exactly one queue
        assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        queue = properties["EventSourceArn"]["Fn::GetAtt"][0]
        function = properties["FunctionName"]["Ref"]
        wiring[queue] = function.removesuffix("Aliaslive")
    assert wiring == QUEUE_WORKERS


def test_every_queue_dead_letters_into_its_own_dlq(resources: dict[str, Any]) -> None:
    for queue in QUEUES:
        main = resources[f"{queue.capitalize()}Queue"]["Properties"]
        dlq = resources[f"{queue.capitalize()}DeadLetterQueue"]["Properties"]
        assert main["QueueName"] == {"Fn::Sub": f"${{AWS::StackName}}-{queue}"}
        assert dlq["QueueName"] == {"Fn::Sub": f"${{AWS::StackName}}-{queue}-dlq"}
        assert main["RedrivePolicy"]["deadLetterTargetArn"] == {
            "Fn::GetAtt": [f"{queue.capitalize()}DeadLetterQueue", "Arn"]
        }
        assert main["RedrivePolicy"]["maxReceiveCount"] >= 3
        assert dlq["MessageRetentionPeriod"] == DEAD_LETTER_RETENTION_S
        assert main["ReceiveMessageWaitTimeSeconds"] == 20
        assert main["SqsManagedSseEnabled"] is dlq["SqsManagedSseEnabled"] is True


def test_visibility_timeout_covers_six_consumer_timeouts(template: dict[str, Any]) -> None:
    # GIVEN each SQS event of each function (its own Timeout, else the global one)
    resources = template["Resources"]
    global_timeout = template["Globals"]["Function"]["Timeout"]
    consumers = 0
    for function in resources.values():
        if function["Type"] != "AWS::Serverless::Function":
            continue
        timeout = function["Properties"].get("Timeout", global_timeout)
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] != "SQS":
                continue
            consumers += 1
            queue_id = event["Properties"]["Queue"]["Fn::GetAtt"][0]
            window = event["Properties"].get("MaximumBatchingWindowInSeconds", 0)
            visibility = resources[queue_id]["Properties"]["VisibilityTimeout"]
            # THEN a batch still in flight is never handed to a second consumer
            assert visibility >= VISIBILITY_TIMEOUT_TO_FUNCTION_TIMEOUT * timeout + window, queue_id
    assert consumers == len(QUEUES)


def test_each_function_knows_its_own_timeout(transformed_resources: dict[str, Any]) -> None:
    """Lambda tells a function nothing of its timeout before an invocation: the settings derive the database's
    statement and lock timeouts from LAMINA_FUNCTION_TIMEOUT_S, so it must equal the deployed Timeout."""
    from lamina.settings import Settings

    # GIVEN each deployed function, after SAM merged the globals into it
    functions = _of_type(transformed_resources, "AWS::Lambda::Function")
    assert len(functions) == len(FUNCTIONS)
    for logical_id, function in functions.items():
        timeout = function["Properties"]["Timeout"]
        variables = function["Properties"]["Environment"]["Variables"]
        # THEN it carries its own Timeout, and its database gives up first, so the function answers
        assert float(variables["LAMINA_FUNCTION_TIMEOUT_S"]) == timeout, logical_id
        settings = Settings.model_validate(
            {"LAMINA_FUNCTION_TIMEOUT_S": variables["LAMINA_FUNCTION_TIMEOUT_S"]}
        )
        assert settings.db_statement_timeout_s < timeout, logical_id


def test_globals_export_exactly_the_contracted_environment(template: dict[str, Any]) -> None:
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert set(variables) == GLOBAL_ENVIRONMENT
    assert variables["LAMINA_BUCKET"] == {"Ref": "WorkspaceBucket"}
    assert variables["EVENTS_QUEUE_URL"] == {"Ref": "EventsQueue"}
    assert variables["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"
    # Secrets come in as NoEcho parameters, never as literals.
    for secret in ("DatabaseUrl", "RedisUrl", "SecretKey"):
        assert template["Parameters"][secret]["NoEcho"] is True


def test_authorizer_guards_every_route_but_health_and_docs(transformed_resources: dict[str, Any]) -> None:
    # GIVEN the HTTP API's generated OpenAPI body
    body = transformed_resources["HttpApi"]["Properties"]["Body"]
    authorizer = body["components"]["securitySchemes"]["LaminaAuthorizer"]["x-amazon-apigateway-authorizer"]
    # THEN the one Lambda authorizer reads Authorization, answers simply and is cached
    assert authorizer["type"] == "request"
    assert authorizer["identitySource"] == ["$request.header.Authorization"]
    assert authorizer["authorizerPayloadFormatVersion"] == "2.0"
    assert authorizer["enableSimpleResponses"] is True
    assert authorizer["authorizerResultTtlInSeconds"] > 0
    # AND it guards every route except the health checks and the docs
    open_routes = set()
    for path, methods in body["paths"].items():
        for method, operation in methods.items():
            if operation["security"] == [{"NONE": []}]:
                open_routes.add((method, path))
            else:
                assert operation["security"] == [{"LaminaAuthorizer": []}], (method, path)
    assert open_routes == UNAUTHENTICATED_ROUTES
    assert {"/api", "/api/{proxy+}", "/services/{proxy+}"} <= set(body["paths"])
    assert body["x-amazon-apigateway-cors"]["allowHeaders"][:2] == ["Authorization", "Content-Type"]


def test_each_schedule_names_its_task(transformed_resources: dict[str, Any]) -> None:
    rules = _of_type(transformed_resources, "AWS::Events::Rule")
    tasks = {}
    for logical_id, rule in rules.items():
        (target,) = rule["Properties"]["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": ["CronFunction", "Arn"]}
        tasks[logical_id.removeprefix("CronFunction")] = json.loads(target["Input"])["task"]
    assert tasks == SCHEDULED_TASKS


def test_heavy_functions_use_snapstart_on_a_published_alias(resources: dict[str, Any]) -> None:
    for function in ("ApiFunction", "ServicesFunction", "TracingWorkerFunction", "EvaluationsWorkerFunction"):
        properties = resources[function]["Properties"]
        assert properties["SnapStart"] == {"ApplyOn": "PublishedVersions"}, function
        assert properties["AutoPublishAlias"] == "live", function


def test_raw_otlp_bodies_expire_after_the_parameters_days(resources: dict[str, Any]) -> None:
    from lamina.tracing.service import RAW_BODY_PREFIX

    # GIVEN the bucket's lifecycle WHEN its rules are read THEN the raw OTLP bodies' prefix (the one the
    # endpoint writes and a replay lists) expires after RawTraceBodyRetentionDays
    rules = resources["WorkspaceBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    [raw] = [rule for rule in rules if rule.get("Prefix") == f"{RAW_BODY_PREFIX}/"]
    assert raw["Status"] == "Enabled" and raw["ExpirationInDays"] == {"Ref": "RawTraceBodyRetentionDays"}
