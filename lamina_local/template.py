"""Reading infra/template.yaml: CloudFormation tags, Parameters, Conditions, Globals and intrinsic functions.

`lamina up` describes nothing about the stack itself; everything comes from here. Reading happens in two steps,
because a function's environment refers to resources (`!Ref EventsQueue` is the queue's URL) that exist only
once `provision.py` has created them in the emulator:

    template = Template.load(path, parameters={"Stage": "local"})
    physical = provision(template, ...)          # creates queues, buckets, pools, keys: fills template.physical
    stack = template.stack()                     # functions, routes, mappings, schedules with every value resolved
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lamina_local.model import (
    AuthorizerSpec,
    CorsSpec,
    FunctionSpec,
    HttpApiSpec,
    HttpRoute,
    QueueSpec,
    ScheduleSpec,
    ServiceSpec,
    SqsMapping,
    Stack,
    UserPoolSpec,
)

LOCAL_ACCOUNT_ID = "123456789012"
DEFAULT_STACK_NAME = "lamina"
DEFAULT_REGION = "us-east-1"
# Lambda's and SAM's defaults where the template says nothing.
DEFAULT_TIMEOUT_S = 3
DEFAULT_MEMORY_MB = 128
DEFAULT_SQS_BATCH_SIZE = 10
DEFAULT_VISIBILITY_TIMEOUT_S = 30
DEFAULT_RETENTION_S = 345_600
HTTP_INTEGRATION_TIMEOUT_MS = 30_000
NO_VALUE = object()  # AWS::NoValue: the key holding it disappears

INTRINSIC_TAGS = (
    "Ref",
    "Condition",
    "GetAtt",
    "Sub",
    "If",
    "Equals",
    "And",
    "Or",
    "Not",
    "Join",
    "Select",
    "Split",
    "FindInMap",
    "Base64",
    "GetAZs",
    "ImportValue",
    "Cidr",
    "Length",
    "ToJsonString",
)


class TemplateError(ValueError):
    """The template cannot be read, or says something the local runtime cannot honour."""


class UnresolvedReferenceError(TemplateError):
    """A value refers to a resource that has not been provisioned yet."""

    def __init__(self, logical_id: str) -> None:
        super().__init__(f"{logical_id} is not provisioned yet")
        self.logical_id = logical_id


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that turns `!Ref X` into `{"Ref": "X"}` and `!Sub ...` into `{"Fn::Sub": ...}`."""


def _construct_intrinsic(tag: str) -> Any:
    key = "Ref" if tag == "Ref" else "Condition" if tag == "Condition" else f"Fn::{tag}"

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {key: value}

    return construct


for _tag in INTRINSIC_TAGS:
    _CfnLoader.add_constructor(f"!{_tag}", _construct_intrinsic(_tag))


def read_template_file(path: Path) -> dict[str, Any]:
    text = path.read_text()
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=_CfnLoader)
    except (yaml.YAMLError, json.JSONDecodeError) as error:
        raise TemplateError(f"{path}: {error}") from error
    if not isinstance(data, dict) or "Resources" not in data:
        raise TemplateError(f"{path}: not a CloudFormation template (no Resources)")
    return data


def _deep_merge(base: Any, override: Any) -> Any:
    """SAM Globals semantics: maps merge, lists append (Layers), scalars are replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _deep_merge(base[key], value) if key in base else value
        return merged
    if isinstance(base, list) and isinstance(override, list):
        return base + override
    return override


@dataclass
class Template:
    path: Path
    document: dict[str, Any]
    parameters: dict[str, Any]
    stack_name: str = DEFAULT_STACK_NAME
    region: str = DEFAULT_REGION
    account_id: str = LOCAL_ACCOUNT_ID
    # logical id -> {"Ref": ..., "<attribute>": ...}, filled by provisioning
    physical: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        path: Path,
        parameters: Mapping[str, str] | None = None,
        *,
        stack_name: str = DEFAULT_STACK_NAME,
        region: str = DEFAULT_REGION,
    ) -> Template:
        document = read_template_file(path)
        declared: dict[str, Any] = document.get("Parameters") or {}
        given = dict(parameters or {})
        unknown = sorted(set(given) - set(declared))
        if unknown:
            raise TemplateError(f"unknown parameter(s): {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, spec in declared.items():
            if name in given:
                raw: Any = given[name]
            elif "Default" in spec:
                raw = spec["Default"]
            else:
                raise TemplateError(f"parameter {name} has no default: pass --param {name}=VALUE")
            raw = str(raw)
            allowed = spec.get("AllowedValues")
            if allowed and raw not in [str(a) for a in allowed]:
                raise TemplateError(f"parameter {name}={raw!r} is not one of {allowed}")
            kind = spec.get("Type", "String")
            values[name] = (
                []
                if kind == "CommaDelimitedList" and raw == ""
                else ([item.strip() for item in raw.split(",")] if kind == "CommaDelimitedList" else raw)
            )
        return cls(
            path=path.resolve(), document=document, parameters=values, stack_name=stack_name, region=region
        )

    @staticmethod
    def declared_parameters(path: Path) -> set[str]:
        return set(read_template_file(path).get("Parameters") or {})

    # ---------------------------------------------------------------- resources

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.document["Resources"]
        return resources

    def included(self, logical_id: str) -> bool:
        condition = self.resources[logical_id].get("Condition")
        return condition is None or self.condition(condition)

    def resources_of(self, *types: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.resources.items()
            if resource.get("Type") in types and self.included(logical_id)
        }

    def properties(self, logical_id: str) -> dict[str, Any]:
        """A resource's Properties, with SAM Globals merged in and every intrinsic resolved."""
        resource = self.resources[logical_id]
        properties = resource.get("Properties") or {}
        section = {"AWS::Serverless::Function": "Function", "AWS::Serverless::HttpApi": "HttpApi"}.get(
            resource.get("Type", "")
        )
        if section:
            globals_ = (self.document.get("Globals") or {}).get(section) or {}
            properties = _deep_merge(globals_, properties)
        resolved = self.resolve(properties)
        return resolved if isinstance(resolved, dict) else {}

    # ---------------------------------------------------------------- intrinsics

    def condition(self, name: str) -> bool:
        conditions = self.document.get("Conditions") or {}
        if name not in conditions:
            raise TemplateError(f"unknown condition {name}")
        return bool(self.resolve(conditions[name]))

    def pseudo(self, name: str) -> Any:
        return {
            "AWS::StackName": self.stack_name,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}/local",
            "AWS::NoValue": NO_VALUE,
            "AWS::NotificationARNs": [],
        }[name]

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.parameters:
            return self.parameters[name]
        if name not in self.resources:
            raise TemplateError(f"!Ref to unknown name {name}")
        known = self.physical.get(name)
        if known is None or "Ref" not in known:
            raise UnresolvedReferenceError(name)
        return known["Ref"]

    def get_att(self, logical_id: str, attribute: str) -> Any:
        if logical_id not in self.resources:
            raise TemplateError(f"!GetAtt of unknown resource {logical_id}")
        known = self.physical.get(logical_id)
        if known is None:
            raise UnresolvedReferenceError(logical_id)
        if attribute not in known:
            raise TemplateError(f"!GetAtt {logical_id}.{attribute}: attribute not available locally")
        return known[attribute]

    def resolve(self, node: Any) -> Any:
        """Resolve every intrinsic function in `node`; AWS::NoValue removes the key or item holding it."""
        if isinstance(node, list):
            items = [self.resolve(item) for item in node]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, value),) = node.items()
            if key == "Ref":
                return self.ref(value)
            if key == "Condition" and isinstance(value, str):
                return self.condition(value)
            if key.startswith("Fn::"):
                return self._function(key[4:], value)
        resolved = {key: self.resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not NO_VALUE}

    def _function(self, name: str, args: Any) -> Any:
        if name == "GetAtt":
            parts = args if isinstance(args, list) else str(args).split(".", 1)
            return self.get_att(str(self.resolve(parts[0])), str(self.resolve(parts[1])))
        if name == "Sub":
            return self._sub(args)
        if name == "If":
            condition, if_true, if_false = args
            return self.resolve(if_true if self.condition(condition) else if_false)
        if name == "Equals":
            left, right = (self.resolve(arg) for arg in args)
            return str(left) == str(right) if not isinstance(left, list) else left == right
        if name == "And":
            return all(self._truth(arg) for arg in args)
        if name == "Or":
            return any(self._truth(arg) for arg in args)
        if name == "Not":
            return not self._truth(args[0])
        if name == "Join":
            delimiter, values = args
            return str(delimiter).join(str(v) for v in self.resolve(values))
        if name == "Select":
            index, values = args
            return self.resolve(values)[int(self.resolve(index))]
        if name == "Split":
            delimiter, value = args
            return str(self.resolve(value)).split(delimiter)
        if name == "FindInMap":
            map_name, top, second = (self.resolve(arg) for arg in args)
            return self.document["Mappings"][map_name][top][second]
        if name == "Base64":
            import base64

            return base64.b64encode(str(self.resolve(args)).encode()).decode()
        if name == "GetAZs":
            return [f"{self.region}{zone}" for zone in "abc"]
        if name == "Length":
            return len(self.resolve(args))
        if name == "ToJsonString":
            return json.dumps(self.resolve(args), separators=(",", ":"))
        raise TemplateError(f"Fn::{name} is not supported by the local runtime")

    def _truth(self, node: Any) -> bool:
        value = self.resolve(node)
        return value if isinstance(value, bool) else str(value).lower() == "true"

    def _sub(self, args: Any) -> str:
        if isinstance(args, list):
            text, variables = args[0], {k: self.resolve(v) for k, v in (args[1] or {}).items()}
        else:
            text, variables = args, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return str(self.get_att(logical_id, attribute))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, str(text))

    # ---------------------------------------------------------------- the stack model

    def stack(self) -> Stack:
        """Everything the local runtime runs, fully resolved (after provisioning)."""
        stack = Stack(name=self.stack_name, region=self.region, parameters=dict(self.parameters))
        for logical_id in self.resources_of("AWS::SQS::Queue"):
            stack.queues[logical_id] = self._queue(logical_id)
        for logical_id in self.resources_of("AWS::S3::Bucket"):
            stack.buckets[logical_id] = str(self.ref(logical_id))
        for logical_id in self.resources_of("AWS::Cognito::UserPool"):
            clients = tuple(
                client_id
                for client_id, client in self.resources_of("AWS::Cognito::UserPoolClient").items()
                if (client.get("Properties") or {}).get("UserPoolId") == {"Ref": logical_id}
            )
            stack.user_pools[logical_id] = UserPoolSpec(logical_id, str(self.ref(logical_id)), clients)
        for logical_id in self.resources_of("AWS::Serverless::Function"):
            self._function_and_events(stack, logical_id)
        for logical_id in self.resources_of("AWS::Serverless::HttpApi"):
            stack.http_apis.append(self._http_api(logical_id, stack))
        stack.services.update(self._services())
        return stack

    def _queue(self, logical_id: str) -> QueueSpec:
        properties = self.properties(logical_id)
        redrive = properties.get("RedrivePolicy") or {}
        if isinstance(redrive, str):
            redrive = json.loads(redrive)
        raw_dlq = (self.resources[logical_id].get("Properties") or {}).get("RedrivePolicy", {})
        dlq_logical_id = None
        if isinstance(raw_dlq, dict):
            target = raw_dlq.get("deadLetterTargetArn")
            if isinstance(target, dict) and "Fn::GetAtt" in target:
                dlq_logical_id = target["Fn::GetAtt"][0]
        return QueueSpec(
            logical_id=logical_id,
            name=str(self.ref(logical_id)).rsplit("/", 1)[-1],
            visibility_timeout_s=int(properties.get("VisibilityTimeout", DEFAULT_VISIBILITY_TIMEOUT_S)),
            message_retention_s=int(properties.get("MessageRetentionPeriod", DEFAULT_RETENTION_S)),
            receive_wait_s=int(properties.get("ReceiveMessageWaitTimeSeconds", 0)),
            dead_letter_logical_id=dlq_logical_id,
            max_receive_count=int(redrive["maxReceiveCount"]) if redrive.get("maxReceiveCount") else None,
            fifo=bool(properties.get("FifoQueue", False)),
        )

    def _code_dir(self, uri: Any, logical_id: str) -> Path:
        if not isinstance(uri, str) or uri.startswith("s3://"):
            raise TemplateError(
                f"{logical_id}: the local runtime needs a local CodeUri/ContentUri, got {uri!r}"
            )
        path = (self.path.parent / uri).resolve()
        if not path.is_dir():
            raise TemplateError(f"{logical_id}: code folder {path} does not exist")
        return path

    def _function_and_events(self, stack: Stack, logical_id: str) -> None:
        raw_properties = self.resources[logical_id].get("Properties") or {}
        # Layers are !Ref to LayerVersions: read their ContentUri rather than resolving an ARN.
        global_layers = ((self.document.get("Globals") or {}).get("Function") or {}).get("Layers") or []
        raw_layers = list(global_layers) + list(raw_properties.get("Layers") or [])
        properties = self._function_properties(logical_id)
        layer_dirs = []
        for layer in raw_layers:
            if isinstance(layer, dict) and layer.get("Ref") in self.resources:
                content = (self.resources[layer["Ref"]].get("Properties") or {}).get("ContentUri")
                layer_dirs.append(self._code_dir(self.resolve(content), layer["Ref"]))
        environment = {
            str(key): "" if value is None else str(value)
            for key, value in ((properties.get("Environment") or {}).get("Variables") or {}).items()
        }
        snap_start = (properties.get("SnapStart") or {}).get("ApplyOn") == "PublishedVersions"
        reserved = properties.get("ReservedConcurrentExecutions")
        stack.functions[logical_id] = FunctionSpec(
            logical_id=logical_id,
            name=str(properties.get("FunctionName") or f"{self.stack_name}-{logical_id}"),
            code_uri=self._code_dir(properties.get("CodeUri"), logical_id),
            handler=str(properties.get("Handler")),
            runtime=str(properties.get("Runtime", "python3.12")),
            layer_dirs=tuple(layer_dirs),
            environment=environment,
            memory_mb=int(properties.get("MemorySize", DEFAULT_MEMORY_MB)),
            timeout_s=float(properties.get("Timeout", DEFAULT_TIMEOUT_S)),
            reserved_concurrency=int(reserved) if reserved not in (None, "") else None,
            snap_start=snap_start,
        )
        for event_name, event in (raw_properties.get("Events") or {}).items():
            self._event(stack, logical_id, event_name, event)

    def _function_properties(self, logical_id: str) -> dict[str, Any]:
        resource = self.resources[logical_id]
        globals_ = dict((self.document.get("Globals") or {}).get("Function") or {})
        globals_.pop("Layers", None)
        own = dict(resource.get("Properties") or {})
        own.pop("Layers", None)
        own.pop("Events", None)
        own.pop("Policies", None)
        merged = self.resolve(_deep_merge(globals_, own))
        return merged if isinstance(merged, dict) else {}

    def _event(self, stack: Stack, function: str, name: str, event: dict[str, Any]) -> None:
        kind = event.get("Type")
        properties = self.resolve(event.get("Properties") or {})
        raw = event.get("Properties") or {}
        if kind == "SQS":
            queue = raw.get("Queue")
            if not (isinstance(queue, dict) and "Fn::GetAtt" in queue):
                raise TemplateError(f"{function}.{name}: SQS Queue must be !GetAtt <Queue>.Arn")
            scaling = properties.get("ScalingConfig") or {}
            stack.sqs_mappings.append(
                SqsMapping(
                    function=function,
                    queue=queue["Fn::GetAtt"][0],
                    batch_size=int(properties.get("BatchSize", DEFAULT_SQS_BATCH_SIZE)),
                    max_batching_window_s=float(properties.get("MaximumBatchingWindowInSeconds", 0)),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in (properties.get("FunctionResponseTypes") or []),
                    enabled=bool(properties.get("Enabled", True)),
                    maximum_concurrency=int(scaling["MaximumConcurrency"])
                    if scaling.get("MaximumConcurrency")
                    else None,
                )
            )
        elif kind in ("Schedule", "ScheduleV2"):
            enabled = properties.get("Enabled", True)
            if properties.get("State"):
                enabled = properties["State"] == "ENABLED"
            stack.schedules.append(
                ScheduleSpec(
                    function=function,
                    name=str(properties.get("Name") or name),
                    expression=str(
                        properties["Schedule"]
                        if "Schedule" in properties
                        else properties["ScheduleExpression"]
                    ),
                    enabled=bool(enabled),
                    input=properties.get("Input"),
                )
            )
        elif kind == "HttpApi":
            pass  # collected per API in _http_api
        else:
            raise TemplateError(f"{function}.{name}: event type {kind} is not run by the local runtime")

    def _http_api(self, logical_id: str, stack: Stack) -> HttpApiSpec:
        properties = self.properties(logical_id)
        auth = properties.get("Auth") or {}
        authorizers: dict[str, AuthorizerSpec] = {}
        raw_auth = ((self.resources[logical_id].get("Properties") or {}).get("Auth") or {}).get(
            "Authorizers"
        ) or {}
        for name, spec in (auth.get("Authorizers") or {}).items():
            identity = spec.get("Identity") or {}
            headers = identity.get("Headers") or []
            sources = tuple(f"$request.header.{header}" for header in headers) + tuple(
                (
                    identity.get("QueryStrings")
                    and [f"$request.querystring.{q}" for q in identity["QueryStrings"]]
                )
                or ()
            )
            if "JwtConfiguration" in spec:
                jwt = spec["JwtConfiguration"]
                authorizers[name] = AuthorizerSpec(
                    name=name,
                    kind="jwt",
                    identity_sources=(spec.get("IdentitySource") or "$request.header.Authorization",),
                    issuer=str(jwt.get("issuer")),
                    audiences=tuple(str(a) for a in jwt.get("audience") or ()),
                )
            else:
                function_arn = (raw_auth.get(name) or {}).get("FunctionArn")
                if not (isinstance(function_arn, dict) and "Fn::GetAtt" in function_arn):
                    raise TemplateError(f"{logical_id}: authorizer {name} must use !GetAtt <Function>.Arn")
                authorizers[name] = AuthorizerSpec(
                    name=name,
                    kind="lambda",
                    identity_sources=sources or ("$request.header.Authorization",),
                    function=function_arn["Fn::GetAtt"][0],
                    payload_format=str(spec.get("AuthorizerPayloadFormatVersion", "2.0")),
                    simple_responses=bool(spec.get("EnableSimpleResponses", False)),
                    result_ttl_s=int(identity.get("ReauthorizeEvery", 0)),
                )
        default_authorizer = auth.get("DefaultAuthorizer")
        routes = []
        for function_id in stack.functions:
            raw_events = (self.resources[function_id].get("Properties") or {}).get("Events") or {}
            for event in raw_events.values():
                if event.get("Type") != "HttpApi":
                    continue
                event_properties = self.resolve(event.get("Properties") or {})
                api_ref = (event.get("Properties") or {}).get("ApiId")
                if api_ref not in (None, {"Ref": logical_id}):
                    continue
                route_auth = (event_properties.get("Auth") or {}).get("Authorizer", default_authorizer)
                routes.append(
                    HttpRoute(
                        method=str(event_properties.get("Method", "ANY")).upper(),
                        path=str(event_properties.get("Path", "$default")),
                        function=function_id,
                        authorizer=None if route_auth in (None, "NONE") else str(route_auth),
                        payload_format=str(event_properties.get("PayloadFormatVersion", "2.0")),
                        timeout_ms=min(
                            int(event_properties.get("TimeoutInMillis", HTTP_INTEGRATION_TIMEOUT_MS)),
                            HTTP_INTEGRATION_TIMEOUT_MS,
                        ),
                    )
                )
        cors_config = properties.get("CorsConfiguration")
        cors = None
        if isinstance(cors_config, dict):
            cors = CorsSpec(
                allow_origins=tuple(cors_config.get("AllowOrigins") or ()),
                allow_methods=tuple(cors_config.get("AllowMethods") or ()),
                allow_headers=tuple(cors_config.get("AllowHeaders") or ()),
                expose_headers=tuple(cors_config.get("ExposeHeaders") or ()),
                allow_credentials=bool(cors_config.get("AllowCredentials", False)),
                max_age_s=int(cors_config["MaxAge"]) if cors_config.get("MaxAge") is not None else None,
            )
        elif cors_config in (True, "'*'", "*"):
            cors = CorsSpec(allow_origins=("*",), allow_methods=("*",), allow_headers=("*",))
        return HttpApiSpec(
            logical_id=logical_id,
            routes=tuple(routes),
            authorizers=authorizers,
            default_authorizer=default_authorizer,
            cors=cors,
        )

    def _services(self) -> dict[str, ServiceSpec]:
        """Container services: each ECS task definition's first container, which `lamina up` runs as a process.

        Read whether or not the template's VPC condition includes them: locally there is always a runner.
        """
        services: dict[str, ServiceSpec] = {}
        for logical_id, resource in self.resources.items():
            if resource.get("Type") != "AWS::ECS::TaskDefinition":
                continue
            containers = (resource.get("Properties") or {}).get("ContainerDefinitions") or []
            if not containers:
                continue
            container = containers[0]
            ports = container.get("PortMappings") or [{}]
            port = int(ports[0].get("ContainerPort", 0))
            environment = {}
            for item in container.get("Environment") or []:
                try:
                    environment[str(item["Name"])] = str(self.resolve(item["Value"]))
                except TemplateError:
                    continue  # values that only exist in AWS (Cloud Map names, roles) stay unset locally
            services[logical_id] = ServiceSpec(
                logical_id=logical_id,
                name=str(container.get("Name", logical_id)),
                port=port,
                environment=environment,
            )
        return services
