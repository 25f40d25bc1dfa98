"""The stack as the local runtime understands it, read from infra/template.yaml by `template.py`.

Every other part of the local runtime (function pools, gateway, pollers, schedules, provisioning) consumes
these plain dataclasses, so none of them has to know CloudFormation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str  # "ApiFunction"
    name: str  # physical name, e.g. "lamina-ApiFunction" (FunctionName when the template sets one)
    code_uri: Path  # absolute folder holding the handler module
    handler: str  # "app.handler"
    runtime: str  # "python3.12"
    layer_dirs: tuple[Path, ...]  # absolute ContentUri folders of the function's layers, put on sys.path
    environment: dict[str, str]  # fully resolved: Globals + function, intrinsics substituted
    memory_mb: int
    timeout_s: float
    reserved_concurrency: int | None
    snap_start: bool  # SnapStart ApplyOn PublishedVersions: initialise eagerly at start-up


@dataclass(frozen=True)
class QueueSpec:
    logical_id: str  # "EventsQueue"
    name: str  # physical QueueName
    visibility_timeout_s: int
    message_retention_s: int
    receive_wait_s: int
    dead_letter_logical_id: str | None  # from RedrivePolicy.deadLetterTargetArn
    max_receive_count: int | None
    fifo: bool = False


@dataclass(frozen=True)
class SqsMapping:
    """An SQS event-source mapping: a poller feeds `queue` to `function` in batches."""

    function: str  # function logical id
    queue: str  # queue logical id
    batch_size: int = 10
    max_batching_window_s: float = 0.0
    report_batch_item_failures: bool = False
    enabled: bool = True
    maximum_concurrency: int | None = None  # ScalingConfig.MaximumConcurrency


@dataclass(frozen=True)
class ScheduleSpec:
    function: str  # function logical id
    name: str  # event name in the template
    expression: str  # "rate(5 minutes)" or "cron(0/5 * * * ? *)"
    enabled: bool = True
    input: str | None = None  # a constant JSON Input replaces the scheduled event


@dataclass(frozen=True)
class AuthorizerSpec:
    name: str
    kind: str  # "jwt" or "lambda"
    identity_sources: tuple[str, ...]  # "$request.header.Authorization"
    # jwt
    issuer: str | None = None
    audiences: tuple[str, ...] = ()
    # lambda
    function: str | None = None  # function logical id
    payload_format: str = "2.0"
    simple_responses: bool = True
    result_ttl_s: int = 0


@dataclass(frozen=True)
class HttpRoute:
    method: str  # "GET", "POST", ... or "ANY"
    path: str  # "/api/{proxy+}"
    function: str  # function logical id
    authorizer: str | None  # authorizer name, None for no auth
    payload_format: str = "2.0"
    timeout_ms: int = 30_000


@dataclass(frozen=True)
class CorsSpec:
    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    allow_credentials: bool = False
    max_age_s: int | None = None


@dataclass(frozen=True)
class HttpApiSpec:
    logical_id: str
    routes: tuple[HttpRoute, ...]
    authorizers: dict[str, AuthorizerSpec]
    default_authorizer: str | None
    cors: CorsSpec | None


@dataclass(frozen=True)
class UserPoolSpec:
    logical_id: str
    name: str
    client_logical_ids: tuple[str, ...]


@dataclass(frozen=True)
class ServiceSpec:
    """A long-lived container service (the ECS runner); locally a child process."""

    logical_id: str
    name: str
    port: int
    environment: dict[str, str]


@dataclass
class Stack:
    name: str
    region: str
    parameters: dict[str, str]
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    queues: dict[str, QueueSpec] = field(default_factory=dict)
    buckets: dict[str, str] = field(default_factory=dict)  # logical id -> bucket name
    sqs_mappings: list[SqsMapping] = field(default_factory=list)
    schedules: list[ScheduleSpec] = field(default_factory=list)
    http_apis: list[HttpApiSpec] = field(default_factory=list)
    user_pools: dict[str, UserPoolSpec] = field(default_factory=dict)
    services: dict[str, ServiceSpec] = field(default_factory=dict)
