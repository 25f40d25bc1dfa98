"""Tenant isolation, generated from the OpenAPI document rather than listed by hand.

For every operation that names an object — by a path parameter or by an id/reference in its body — a caller
from project A (an API key, and a signed-in user) is sent at project B's objects: the answer must be 404 or
403 and must not contain any of B's identifiers. Query operations may instead answer 200 with nothing of B.
Every operation is also called with `?project_id=<B>`; and every write operation with a viewer key is 403.
New routes are covered as soon as they exist: an unmapped path parameter fails the test.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.integration.api_client import (
    ApiClient,
    Tenant,
    api_env,
    api_handler,
    cognito_pool,
    make_tenant,
    own_events_queue,
    prompt_data,
)

__all__ = ["api_env", "cognito_pool", "make_tenant", "own_events_queue"]

# Public by design: health checks, and what the sign-in page reads before it holds a credential.
UNAUTHENTICATED_PATHS = {"/api/health", "/api/auth/config"}
# POST .../download is a read (Agenta's SDK downloads a test set with a POST).
READ_ONLY_SUFFIXES = ("/query", "/retrieve", "/log", "/download", "/compare")
# Path parameter → the kind of object it names.
PATH_PARAMETER_KINDS = {
    "application_id": "application",
    "variant_id": "variant",
    "revision_id": "revision",
    "secret_id": "secret",
    "key_id": "key",
    "workspace_id": "workspace",
    "user_id": "user",
    "trace_id": "trace",
    "testset_id": "testset",
    "testcase_id": "testcase",
    "evaluator_id": "evaluator",
    "schedule_id": "schedule",
    "subscription_id": "subscription",
    "delivery_id": "delivery",
    "session_id": "session",
    "turn_id": "turn",
    "record_id": "record",
    "interaction_id": "interaction",
    "evaluation_id": "run",
    "run_id": "run",
    "scenario_id": "scenario",
}
# `data` of a body that is not a registry revision's: a valid one that names nothing of any tenant.
NEUTRAL_DATA: dict[str, dict[str, Any]] = {
    "TriggerScheduleData": {"schedule": "0 0 * * *", "evaluation": {}},
    "TriggerSubscriptionData": {"event_key": "nothing.here.happened", "evaluation": {}},
    "SubscriptionData": {"url": "https://example.com/hook"},  # a webhook subscription
}
# Path parameters that name no tenant's object (the evaluator catalog is the same for every project).
SHARED_PATH_PARAMETERS = {"template_key": "auto_exact_match"}
# Under these domains' paths, `variant_id` / `revision_id` name that domain's variants and revisions.
ARTIFACT_DOMAINS = ("testset", "evaluator")
# Operations whose control request cannot be generated (an upload needs a file, not a JSON body); their
# cross-project refusal is still checked.
NO_CONTROL_REQUEST = {"/api/simple/testsets/{testset_id}/upload"}
# Body field name prefix → the kind of object it names (longest prefix first).
FIELD_KINDS = (
    ("application_variant", "variant"),
    ("application_revision", "revision"),
    ("environment_revision", "environment_revision"),
    ("application", "application"),
    ("environment", "environment"),
    ("testset_variant", "testset_variant"),
    ("testset_revision", "testset_revision"),
    ("testset", "testset"),
    ("testcase", "testcase"),
    ("evaluator_variant", "evaluator_variant"),
    ("evaluator_revision", "evaluator_revision"),
    ("evaluator", "evaluator"),
    ("variant", "variant"),
    ("revision", "revision"),
    # Agenta's names (`/workflows/...`): an application is a workflow.
    ("workflow_variant", "variant"),
    ("workflow_revision", "revision"),
    ("workflow", "application"),
    ("session", "session"),
    ("turn", "turn"),
)

# A reference that needs another one to name something complete (an environment serves many applications).
COMPANIONS = {"environment_ref": "application_ref", "environment_revision_ref": "application_ref"}


@dataclass
class Objects:
    """One project's objects, by kind."""

    project_id: str
    ids: dict[str, str]
    application_slug: str

    def identifiers(self) -> set[str]:
        return set(self.ids.values()) | {self.project_id}


def populate(tenant: Tenant) -> Objects:
    """An application (variant, two revisions, a deployment), a secret, a second key, in the tenant's project."""
    api = tenant.client
    slug = f"iso-{uuid.uuid4().hex[:6]}"
    app = api.post("/api/simple/applications/", {"application": {"slug": slug, "data": prompt_data()}}).ok()
    app = app["application"]
    revision = api.post(
        "/api/applications/revisions/commit",
        {"application_revision": {"application_variant_id": app["variant_id"], "data": prompt_data()}},
    ).ok()["application_revision"]
    deployed = api.post(
        "/api/applications/revisions/deploy",
        {"application_revision_ref": {"id": revision["id"]}, "environment_ref": {"slug": "production"}},
    ).ok()["environment_revision"]
    secret = api.post("/api/secrets/", {"secret": {"name": "openai", "value": "sk-" + "z" * 30}}).ok()[
        "secret"
    ]
    key = api.post("/api/keys/", {"name": "second"}).ok()["api_key"]
    project = api.get("/api/projects/current").ok()["project"]
    trace_id = store_trace(tenant.project_id)
    testset = api.post(
        "/api/simple/testsets/", {"testset": {"name": "iso", "data": {"testcases": [{"data": {"q": "?"}}]}}}
    ).ok()["testset"]
    evaluator = api.post(
        "/api/simple/evaluators/",
        {
            "evaluator": {
                "slug": f"iso-{uuid.uuid4().hex[:6]}",
                "data": {"uri": "auto_exact_match", "parameters": {}},
            }
        },
    ).ok()["evaluator"]
    triggers = store_triggers(tenant)
    agent_session = store_agent_session(tenant.project_id)
    webhooks = store_webhooks(tenant)
    # An evaluation run its SDK drives (no worker needed), with one scenario.
    run = api.post(
        "/api/simple/evaluations/",
        {
            "evaluation": {
                "name": "iso",
                "data": {"status": "running", "testset_steps": {testset["revision_id"]: "custom"}},
            }
        },
    ).ok()["evaluation"]
    scenario = api.post(f"/api/simple/evaluations/{run['id']}/scenarios/add", {"count": 1}).ok()["scenarios"][
        0
    ]
    return Objects(
        project_id=tenant.project_id,
        application_slug=slug,
        ids={
            "application": app["id"],
            "variant": app["variant_id"],
            "revision": revision["id"],
            "environment": deployed["environment_id"],
            "environment_revision": deployed["id"],
            "secret": secret["id"],
            "key": key["id"],
            "workspace": project["workspace_id"],
            "user": tenant.user_id,
            "trace": trace_id,
            "testset": testset["id"],
            "testset_variant": testset["variant_id"],
            "testset_revision": testset["revision_id"],
            "testcase": testset["data"]["testcases"][0]["id"],
            "evaluator": evaluator["id"],
            "evaluator_variant": evaluator["variant_id"],
            "evaluator_revision": evaluator["revision_id"],
            **triggers,
            **agent_session,
            **webhooks,
            "run": run["id"],
            "scenario": scenario["id"],
        },
    )


def store_webhooks(tenant: Tenant) -> dict[str, str]:
    """A webhook subscription and one logged attempt of a delivery to it (of an event that was recorded)."""
    from lamina.db.base import utcnow
    from lamina.db.unit_of_work import unit_of_work
    from lamina.events.models import EventRecord
    from lamina.webhooks.models import WebhookDeliveryAttempt

    url = "https://example.com/hook"
    subscription = tenant.client.post(
        "/api/webhooks/subscriptions/", {"subscription": {"name": "iso", "data": {"url": url}}}
    ).ok()["subscription"]
    event_id, delivery_id = uuid.uuid4(), uuid.uuid4()
    with unit_of_work() as session:
        session.add(
            EventRecord(
                id=event_id,
                project_id=uuid.UUID(tenant.project_id),
                type="webhooks.subscriptions.tested",
                payload={"subscription_id": subscription["id"]},
                occurred_at=utcnow(),
            )
        )
        session.add(
            WebhookDeliveryAttempt(
                project_id=uuid.UUID(tenant.project_id),
                subscription_id=uuid.UUID(subscription["id"]),
                event_id=event_id,
                event_type="webhooks.subscriptions.tested",
                delivery_id=delivery_id,
                attempt=1,
                status="success",
                url=url,
                status_code=200,
            )
        )
    return {"webhook_subscription": subscription["id"], "webhook_delivery": str(delivery_id)}


def store_triggers(tenant: Tenant) -> dict[str, str]:
    """A schedule, an event subscription, and a delivery of it (as the events worker logs one)."""
    from lamina.db.base import utcnow
    from lamina.db.unit_of_work import unit_of_work
    from lamina.triggers.models import TriggerDelivery

    api = tenant.client
    target = {"evaluation": {"testset_steps": {}}}
    schedule = api.post(
        "/api/triggers/schedules/", {"schedule": {"data": {"schedule": "0 0 * * *", **target}}}
    )
    subscription = api.post(
        "/api/triggers/subscriptions/", {"subscription": {"data": {"event_key": "x.y.z", **target}}}
    ).ok()["subscription"]
    delivery_id = uuid.uuid4()
    with unit_of_work() as session:
        session.add(
            TriggerDelivery(
                id=delivery_id,
                project_id=uuid.UUID(tenant.project_id),
                subscription_id=uuid.UUID(subscription["id"]),
                event_id=str(uuid.uuid4()),
                status="success",
                data={},
                attempts=1,
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )
    return {
        "schedule": schedule.ok()["schedule"]["id"],
        "subscription": subscription["id"],
        "delivery": str(delivery_id),
    }


def store_trace(project_id: str) -> str:
    """A one-span trace in the project, written as the tracing worker writes it; its trace id."""
    from lamina.db.unit_of_work import unit_of_work
    from lamina.tracing.otlp import DecodedSpan
    from lamina.tracing.store import span_row, write_spans

    trace_id = uuid.uuid4().hex
    span = DecodedSpan(
        trace_id=trace_id,
        span_id=uuid.uuid4().hex[:16],
        parent_id=None,
        name="isolation",
        kind="SPAN_KIND_INTERNAL",
        start_unix_nano=time.time_ns(),
        end_unix_nano=time.time_ns(),
        status_code="STATUS_CODE_OK",
        status_message=None,
        attributes={"ag.data.inputs": "{}"},
        resource={},
    )
    with unit_of_work() as session:
        write_spans(session, [span_row(uuid.UUID(project_id), span)])
    return trace_id


def store_agent_session(project_id: str) -> dict[str, str]:
    """A paused agent session (a turn, its records, a pending interaction), as the records worker stores it."""
    from lamina.db.unit_of_work import unit_of_work
    from lamina.queues.envelope import Envelope
    from lamina.sessions.ingest import ingest_records, interaction_id
    from lamina.sessions.models import SessionRecord

    session_id, turn_id, token = uuid.uuid4(), uuid.uuid4(), str(uuid.uuid4())
    records = [
        {"type": "turn.started", "sequence": 1, "turn_index": 0, "spec": {}},
        {"type": "interaction.request", "sequence": 2, "interaction_id": token, "kind": "user_approval"},
        {"type": "result", "sequence": 3, "status": "paused", "turn_index": 0, "messages": []},
    ]
    envelope = Envelope(
        type="records.batch",
        payload={"session_id": str(session_id), "turn_id": str(turn_id), "records": records},
        project_id=uuid.UUID(project_id),
    )
    with unit_of_work() as session:
        ingest_records(envelope, session)
        session.flush()
        record = session.query(SessionRecord).filter_by(turn_id=turn_id, sequence=1).one()
        record_id = str(record.id)
    return {
        "session": str(session_id),
        "turn": str(turn_id),
        "record": record_id,
        "interaction": str(interaction_id(turn_id, token)),
    }


# ---------------------------------------------------------------- request generation from the OpenAPI document


def operations(openapi: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in openapi["paths"].items():
        if path in UNAUTHENTICATED_PATHS:
            continue
        for method, operation in methods.items():
            yield method.upper(), path, operation


def _resolve(openapi: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = openapi["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    if "anyOf" in schema:  # Optional[X]: take X
        options = [s for s in schema["anyOf"] if s.get("type") != "null"]
        return _resolve(openapi, options[0])
    return schema


def _field_kind(name: str) -> str | None:
    for prefix, kind in FIELD_KINDS:
        if name.startswith(prefix) and (
            name.endswith("_ref") or name.endswith("_refs") or name.endswith("_id")
        ):
            return kind
    return None


def _neutral_value(openapi: dict[str, Any], name: str, schema: dict[str, Any]) -> Any:
    """A valid value that names nothing of any tenant."""
    schema = _resolve(openapi, schema)
    if "enum" in schema:
        return schema["enum"][-1]
    if name == "data":
        return NEUTRAL_DATA.get(schema.get("title", ""), prompt_data())
    if name.endswith("_ref") or schema.get("title") == "Reference":
        return {"slug": "production"} if name.startswith("environment") else {"slug": "nothing-here"}
    kind = schema.get("type")
    if kind == "object":
        return {
            field: _neutral_value(openapi, field, sub)
            for field, sub in schema.get("properties", {}).items()
            if field in schema.get("required", [])
        }
    if kind == "array":
        return []
    if kind == "integer":
        return 1
    if kind == "boolean":
        return False
    if schema.get("format") == "uuid":
        return str(uuid.uuid4())
    if schema.get("format") == "date-time":
        return "2999-01-01T00:00:00Z"
    if name == "email":
        return f"x-{uuid.uuid4().hex[:6]}@example.com"
    return f"iso-{uuid.uuid4().hex[:8]}"


def _id_fields(
    openapi: dict[str, Any], schema: dict[str, Any], path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], str, str]]:
    """(field path, kind, shape) of every body field that names an object: shape is id, ref or refs."""
    schema = _resolve(openapi, schema)
    for name, sub in schema.get("properties", {}).items():
        kind = _field_kind(name)
        resolved = _resolve(openapi, sub)
        if kind is not None:
            shape = "refs" if name.endswith("_refs") else "ref" if name.endswith("_ref") else "id"
            yield (*path, name), kind, shape
        elif resolved.get("type") == "object" and resolved.get("properties"):
            yield from _id_fields(openapi, resolved, (*path, name))


def _set(
    body: dict[str, Any], path: tuple[str, ...], value: Any, openapi: dict[str, Any], schema: dict[str, Any]
) -> None:
    target = body
    current = _resolve(openapi, schema)
    for part in path[:-1]:
        current = _resolve(openapi, current["properties"][part])
        if part not in target:
            target[part] = _neutral_value(openapi, part, current)
        target = target[part]
    target[path[-1]] = value


def request_cases(
    openapi: dict[str, Any], method: str, path: str, operation: dict[str, Any], objects: Objects
) -> Iterator[tuple[str, dict[str, Any] | None, bool]]:
    """(url, body, names_an_object) for one operation, aimed at `objects`."""
    url = path
    names_object = False
    for parameter in operation.get("parameters", []):
        if parameter["in"] != "path":
            continue
        if parameter["name"] in SHARED_PATH_PARAMETERS:
            url = url.replace("{" + parameter["name"] + "}", SHARED_PATH_PARAMETERS[parameter["name"]])
            continue
        kind = PATH_PARAMETER_KINDS.get(parameter["name"])
        assert kind, f"{method} {path}: map path parameter {parameter['name']!r} in PATH_PARAMETER_KINDS"
        domain = next((d for d in ARTIFACT_DOMAINS if f"/{d}s/" in path), None)
        if domain and kind in ("variant", "revision"):
            kind = f"{domain}_{kind}"
        if path.startswith("/api/webhooks/") and kind in ("subscription", "delivery"):
            kind = f"webhook_{kind}"
        url = url.replace("{" + parameter["name"] + "}", objects.ids[kind])
        names_object = True
    body_schema = (
        operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    )
    if body_schema is None:
        yield url, None, names_object
        return
    base = _neutral_value(openapi, "body", body_schema)
    yield url, base, names_object
    for field_path, kind, shape in _id_fields(openapi, body_schema):
        body = copy.deepcopy(base)
        object_id = objects.ids[kind]
        value: Any = (
            {"id": object_id} if shape == "ref" else [{"id": object_id}] if shape == "refs" else object_id
        )
        _set(body, field_path, value, openapi, body_schema)
        companion = COMPANIONS.get(field_path[-1])
        if companion and companion in _resolve(openapi, body_schema).get("properties", {}):
            _set(
                body, (*field_path[:-1], companion), {"id": objects.ids["application"]}, openapi, body_schema
            )
        yield url, body, True


# ---------------------------------------------------------------- the tests


@pytest.fixture
def two_projects(
    make_tenant: Callable[..., Tenant], api_env: dict[str, str]
) -> tuple[Tenant, Objects, Tenant, Objects, str]:
    from lamina_local.seed import issue_token

    a, b = make_tenant(), make_tenant()
    a_token = issue_token(a.email, a.password, client_id=api_env["COGNITO_CLIENT_ID"])
    return a, populate(a), b, populate(b), a_token


def test_project_a_cannot_reach_project_b(two_projects: tuple[Tenant, Objects, Tenant, Objects, str]) -> None:
    a, a_objects, b, b_objects, a_token = two_projects
    openapi = api_handler().app.openapi()
    callers = {"api key": ApiClient(a.key_auth), "user": ApiClient(f"Bearer {a_token}")}
    b_identifiers = b_objects.identifiers()
    checked = 0
    failures: list[str] = []
    for method, path, operation in operations(openapi):
        for url, body, names_object in request_cases(openapi, method, path, operation, b_objects):
            for who, client in callers.items():
                attempts = [({}, names_object)]
                # Every operation, asked to act in B's project explicitly.
                attempts.append(({"project_id": b_objects.project_id}, True))
                for query, must_refuse in attempts:
                    if not must_refuse:
                        continue
                    response = client.request(method, url, body, query=query)
                    checked += 1
                    leaked = sorted(i for i in b_identifiers if i in json.dumps(response.body))
                    is_query = path.endswith(READ_ONLY_SUFFIXES) or path.endswith("/environments/")
                    refused = response.status in (403, 404)
                    empty_answer = response.status == 200 and is_query and not query and not leaked
                    if not (refused or empty_answer) or (leaked and not refused):
                        failures.append(
                            f"{who} {method} {url} {query or ''} body={json.dumps(body)[:200]} -> "
                            f"{response.status} {json.dumps(response.body)[:300]}"
                        )
    assert not failures, f"{len(failures)} of {checked} cross-project calls were not refused:\n" + "\n".join(
        failures
    )
    assert checked > 100

    # AND the same generated requests aimed at A's own objects are well-formed (so B's 404s are not mere 422s
    # in disguise): reads succeed, writes succeed or hit a state conflict, nothing is a 422 or a 500.
    control_failures = []
    # Deletes last: deleting a subscription removes its delivery log, which later reads name.
    for method, path, operation in sorted(operations(openapi), key=lambda op: op[0] == "DELETE"):
        for url, body, names_object in request_cases(openapi, method, path, operation, a_objects):
            if not names_object or path in NO_CONTROL_REQUEST:
                continue
            response = callers["api key"].request(method, url, body)
            allowed = {200} if method == "GET" else {200, 404, 409}
            if response.status not in allowed:
                control_failures.append(
                    f"{method} {url} {json.dumps(body)[:200]} -> {response.status} {response.body}"
                )
    assert not control_failures, "control requests failed:\n" + "\n".join(control_failures)

    # AND B's objects are all still there and unchanged
    b_api = b.client
    retrieved = b_api.post(
        "/api/applications/revisions/retrieve",
        {"environment_ref": {"slug": "production"}, "application_ref": {"id": b_objects.ids["application"]}},
    ).ok()
    assert retrieved["application_revision"]["id"] == b_objects.ids["revision"]
    assert b_api.get(f"/api/secrets/{b_objects.ids['secret']}").status == 200
    assert b_objects.ids["key"] in {k["id"] for k in b_api.get("/api/keys/").ok()["api_keys"]}
    assert (
        b_api.get(f"/api/applications/{b_objects.ids['application']}").ok()["application"]["archived_at"]
        is None
    )


def test_viewer_cannot_write(two_projects: tuple[Tenant, Objects, Tenant, Objects, str]) -> None:
    a, a_objects, _, _, _ = two_projects
    viewer_key = a.client.post("/api/keys/", {"name": "viewer", "role": "viewer"}).ok()["api_key"]["key"]
    viewer = ApiClient(f"ApiKey {viewer_key}")
    openapi = api_handler().app.openapi()
    failures: list[str] = []
    writes = 0
    for method, path, operation in operations(openapi):
        if method == "GET" or path.endswith(READ_ONLY_SUFFIXES):
            continue
        for url, body, _ in request_cases(openapi, method, path, operation, a_objects):
            writes += 1
            response = viewer.request(method, url, body)
            if response.status != 403:
                failures.append(f"{method} {url} -> {response.status} {json.dumps(response.body)[:200]}")
    assert not failures, "viewer writes not refused:\n" + "\n".join(failures)
    assert writes > 20
    # while reading works
    assert viewer.get(f"/api/applications/{a_objects.ids['application']}").status == 200
