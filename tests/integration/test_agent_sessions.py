"""Agent sessions end to end: two runner processes sharing a session's S3 workspace, the records worker
persisting every event once, `/api/sessions/...` reading them back, and a paused turn resumed through the
interactions queue after a person approves it. Real Postgres, moto S3/SQS, runner subprocesses."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.integration.api_client import Tenant, cognito_pool

__all__ = ["cognito_pool"]
from tests.integration.runner_support import (
    READ_FILE_TOOL,
    WRITE_FILE_TOOL,
    RunnerProcess,
    choose,
    runner_env,
    running_runner,
    turn_body,
)
from tests.integration.test_api_health import load_handler_module
from tests.support import LambdaContext, configure_library

pytestmark = pytest.mark.localstack


@pytest.fixture(scope="module")
def sessions_stack(
    database_url: str,
    redis_url: str,
    aws_resources: dict[str, str],
    backends: Any,
    cognito_pool: tuple[str, str],
) -> Iterator[dict[str, str]]:
    """For the module: the stack's environment with records and interactions queues of its own, the API
    served over HTTP (the runners' tool call-back) and two runner processes."""
    import boto3

    from tests.integration.api_client import api_over_http

    env = {
        "LAMINA_ENV": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        **{k: v for k, v in backends.environment().items() if k.startswith("AWS_")},
        **aws_resources,
        "COGNITO_USER_POOL_ID": cognito_pool[0],
        "COGNITO_CLIENT_ID": cognito_pool[1],
    }
    sqs = boto3.session.Session(region_name="us-east-1").client("sqs", endpoint_url=backends.aws.url)
    for name in ("records", "interactions", "events"):
        queue = f"lamina-test-sessions-{name}-{uuid.uuid4().hex[:8]}"
        env[f"{name.upper()}_QUEUE_URL"] = sqs.create_queue(QueueName=queue)["QueueUrl"]
    configure_library(env)
    with api_over_http() as api:
        env["LAMINA_API_URL"] = api
        with running_runner(runner_env(env)) as first, running_runner(runner_env(env)) as second:
            env["FIRST_RUNNER"], env["SECOND_RUNNER"] = first.url, second.url
            env["RUNNER_TOKEN"] = first.token
            yield env


@pytest.fixture
def sessions_env(sessions_stack: dict[str, str]) -> Iterator[dict[str, str]]:
    from lamina.state import configure

    configure_library(sessions_stack)
    yield sessions_stack
    configure(None)


@pytest.fixture
def runners(sessions_env: dict[str, str]) -> tuple[RunnerProcess, RunnerProcess]:
    token = sessions_env["RUNNER_TOKEN"]
    return (
        RunnerProcess(sessions_env["FIRST_RUNNER"], None, token),  # type: ignore[arg-type]
        RunnerProcess(sessions_env["SECOND_RUNNER"], None, token),  # type: ignore[arg-type]
    )


@pytest.fixture
def make_tenant(sessions_env: dict[str, str]) -> Callable[..., Tenant]:
    from lamina_local.seed import DEFAULT_PASSWORD, seed_local
    from tests.integration.api_client import ApiClient

    def make() -> Tenant:
        email = f"user-{uuid.uuid4().hex[:8]}@example.com"
        seeded = seed_local(email, DEFAULT_PASSWORD)
        return Tenant(
            email,
            DEFAULT_PASSWORD,
            seeded.user_id,
            seeded.project_id,
            seeded.api_key,
            ApiClient(f"ApiKey {seeded.api_key}"),
        )

    return make


def drain(queue_url: str, worker: str) -> int:
    """Hand every message on the queue to the worker's Lambda handler, as the SQS poller would.

    Nothing is in flight when this is called (the runner publishes a turn's records before its result
    line, a response publishes after its commit), so an empty receive means an empty queue."""
    from lamina import aws

    handler = load_handler_module("workers", worker).handler
    sqs = aws.client("sqs")
    handled = 0
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        if not messages:
            return handled
        event = {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": {},
                    "messageAttributes": {},
                    "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:test",
                    "awsRegion": "us-east-1",
                }
                for m in messages
            ]
        }
        assert handler(event, LambdaContext()) == {"batchItemFailures": []}
        for m in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
        handled += len(messages)


def workspace_keys(project_id: str, session_id: uuid.UUID) -> dict[str, bytes]:
    from lamina import aws
    from lamina.settings import get_settings
    from lamina.workspaces.store import session_prefix

    s3, bucket = aws.client("s3"), get_settings().bucket_name
    prefix = session_prefix(project_id, session_id)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents") or []
    return {
        item["Key"][len(prefix) :]: s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        for item in listed
    }


def test_two_turns_on_two_runners_share_files_and_records_read_back(
    sessions_env: dict[str, str],
    runners: tuple[RunnerProcess, RunnerProcess],
    make_tenant: Callable[..., Tenant],
) -> None:
    # GIVEN a tenant's session and two runner processes
    tenant = make_tenant()
    first, second = runners
    session_id = uuid.uuid4()
    tools = [
        WRITE_FILE_TOOL,
        READ_FILE_TOOL,
        {
            **WRITE_FILE_TOOL,
            "function": {"name": "delete_file", "parameters": READ_FILE_TOOL["function"]["parameters"]},
        },
    ]

    # WHEN the first turn, on the first runner, writes a file
    events = first.run(
        turn_body(
            tenant.project_id,
            session_id,
            "notes.txt",
            tools=tools,
            harness={"tool_choice": choose("write_file")},
        )
    )
    # THEN it streams the tool call, its result, the file it checkpointed, done and one result line
    types = [event["type"] for event in events]
    assert types[0] == "turn.started" and types[-2:] == ["done", "result"]
    assert {"tool.call", "tool.result", "file", "usage", "message"} <= set(types)
    assert events[-1]["status"] == "completed"
    assert [e["sequence"] for e in events[:-1]] == list(range(1, len(events)))

    # WHEN the second turn runs on the other runner and reads it
    second_events = second.run(
        turn_body(
            tenant.project_id,
            session_id,
            "notes.txt",
            tools=tools,
            turn_index=1,
            harness={"tool_choice": choose("read_file")},
        )
    )
    # THEN it sees the first turn's file
    results = [e for e in second_events if e["type"] == "tool.result"]
    assert results and results[0]["content"] == "notes.txt"
    assert workspace_keys(tenant.project_id, session_id) == {"notes.txt": b"notes.txt"}

    # WHEN a third turn deletes it, THEN the deletion reaches S3
    first.run(
        turn_body(
            tenant.project_id,
            session_id,
            "notes.txt",
            tools=tools,
            turn_index=2,
            harness={"tool_choice": choose("delete_file")},
        )
    )
    assert workspace_keys(tenant.project_id, session_id) == {}

    # WHEN the records worker consumes the records queue (and a batch is delivered twice)
    from lamina.queues.publish import publish

    assert drain(sessions_env["RECORDS_QUEUE_URL"], "records") >= 3
    publish_again = [e for e in events if e["type"] != "result"][:3]
    publish(
        __import__("lamina.queues.names", fromlist=["Queue"]).Queue.RECORDS,
        "records.batch",
        {"session_id": str(session_id), "turn_id": events[0]["turn_id"], "records": publish_again},
        project_id=uuid.UUID(tenant.project_id),
    )
    drain(sessions_env["RECORDS_QUEUE_URL"], "records")

    # THEN the API reads back three completed turns, and every event of them once, in order
    turns = tenant.client.post("/api/sessions/turns/query", {"query": {"session_id": str(session_id)}}).ok()
    assert [(t["turn_index"], t["status"]) for t in turns["turns"]] == [
        (0, "completed"),
        (1, "completed"),
        (2, "completed"),
    ]
    records = tenant.client.post("/api/sessions/records/query", {"session_id": str(session_id)}).ok()[
        "records"
    ]
    first_turn = [r for r in records if r["turn_id"] == events[0]["turn_id"]]
    assert [r["record_index"] for r in first_turn] == list(range(1, len(events) + 1))
    assert [r["record_type"] for r in first_turn] == types
    stored = tenant.client.get(f"/api/sessions/{session_id}").ok()["session"]
    assert stored["status"] == "completed" and stored["turn_count"] == 3
    # AND another tenant sees none of it
    other = make_tenant()
    assert (
        other.client.post("/api/sessions/records/query", {"session_id": str(session_id)}).ok()["count"] == 0
    )
    assert other.client.get(f"/api/sessions/{session_id}").status == 404


def test_a_paused_run_resumes_after_approval(
    sessions_env: dict[str, str],
    runners: tuple[RunnerProcess, RunnerProcess],
    make_tenant: Callable[..., Tenant],
) -> None:
    from lamina import state

    # GIVEN a turn whose tool needs a person's approval, on a runner the interactions worker can reach
    tenant = make_tenant()
    first, second = runners
    state.configure(state.current().settings.model_copy(update={"runner_url": second.url}))  # the worker's
    session_id = uuid.uuid4()
    guarded = {**WRITE_FILE_TOOL, "requires_approval": True}
    events = first.run(
        turn_body(
            tenant.project_id,
            session_id,
            "approved.txt",
            tools=[guarded],
            harness={"tool_choice": choose("write_file")},
        )
    )

    # THEN the turn pauses on an interaction request, having written nothing
    result = events[-1]
    assert result["status"] == "paused" and result["interaction"]["kind"] == "user_approval"
    assert "interaction.request" in [e["type"] for e in events]
    assert workspace_keys(tenant.project_id, session_id) == {}
    drain(sessions_env["RECORDS_QUEUE_URL"], "records")
    pending = tenant.client.post(
        "/api/sessions/interactions/query", {"query": {"session_id": str(session_id), "status": "pending"}}
    ).ok()
    assert pending["count"] == 1
    interaction = pending["interactions"][0]
    assert interaction["data"]["request"]["tool"] == "write_file"

    # WHEN the person approves it (twice: the second answer is refused)
    path = f"/api/sessions/interactions/{interaction['id']}/respond"
    answered = tenant.client.post(path, {"answer": {"verdict": "approved"}}).ok()
    assert answered["interaction"]["status"] == "responded"
    assert tenant.client.post(path, {"answer": {"verdict": "denied"}}).status == 409
    # AND the interactions worker takes the answer off its queue
    assert drain(sessions_env["INTERACTIONS_QUEUE_URL"], "interactions") == 1

    # THEN a new turn ran the approved call in the same workspace, and the session completed
    assert workspace_keys(tenant.project_id, session_id) == {"approved.txt": b"approved.txt"}
    drain(sessions_env["RECORDS_QUEUE_URL"], "records")
    turns = tenant.client.post("/api/sessions/turns/query", {"query": {"session_id": str(session_id)}}).ok()[
        "turns"
    ]
    assert [(t["turn_index"], t["status"]) for t in turns] == [(0, "paused"), (1, "completed")]
    resolved = tenant.client.get(f"/api/sessions/interactions/{interaction['id']}").ok()["interaction"]
    assert resolved["status"] == "resolved"
    assert tenant.client.get(f"/api/sessions/{session_id}").ok()["session"]["status"] == "completed"


def test_server_side_tools_are_relayed_with_a_project_token(
    sessions_env: dict[str, str],
    runners: tuple[RunnerProcess, RunnerProcess],
    make_tenant: Callable[..., Tenant],
) -> None:
    # GIVEN the API over HTTP and a runner whose call-backs go to it
    tenant = make_tenant()
    runner, api = runners[0], sessions_env["LAMINA_API_URL"]
    tool: dict[str, Any] = {
        "type": "function",
        "function": {"name": "session_info", "parameters": {"type": "object"}},
    }
    session_id = uuid.uuid4()
    # WHEN the agent calls a server-side tool
    events = runner.run(
        turn_body(
            tenant.project_id,
            session_id,
            "hi",
            tools=[tool],
            harness={"tool_choice": choose("session_info")},
            tool_callback={"url": f"{api}/api/sessions/tools/call"},
        )
    )
    # AND a request tries to send the runner's token elsewhere
    stray = runner.run(
        turn_body(
            tenant.project_id,
            uuid.uuid4(),
            "hi",
            tools=[tool],
            harness={"tool_choice": choose("session_info")},
            tool_callback={"url": "http://127.0.0.1:9/steal"},
        )
    )
    # THEN the API answered as the session's project, through the runner's short-lived service token
    result = next(e for e in events if e["type"] == "tool.result")["content"]
    assert tenant.project_id in result and "service:runner-tools" in result
    # AND the stray call-back was refused without being called
    assert "not under the API URL" in next(e for e in stray if e["type"] == "tool.result")["content"]


def test_a_turn_requested_through_the_api_runs_on_the_runner(
    sessions_env: dict[str, str],
    runners: tuple[RunnerProcess, RunnerProcess],
    make_tenant: Callable[..., Tenant],
) -> None:
    from lamina import state

    # GIVEN a tenant and a runner the interactions worker reaches
    tenant = make_tenant()
    state.configure(state.current().settings.model_copy(update={"runner_url": runners[1].url}))
    # WHEN the tenant asks the API for a turn of a new session
    run = {
        "messages": [{"role": "user", "content": "api.txt"}],
        "tools": [WRITE_FILE_TOOL],
        "harness": {"tool_choice": choose("write_file")},
    }
    queued = tenant.client.post("/api/sessions/turns/run", {"run": run}).ok()
    assert queued["status"] == "queued"
    # AND the interactions worker takes the request off its queue
    assert drain(sessions_env["INTERACTIONS_QUEUE_URL"], "interactions") == 1
    # THEN the turn ran on the runner under the id the API answered, in the session's workspace
    assert workspace_keys(tenant.project_id, queued["session_id"]) == {"api.txt": b"api.txt"}
    drain(sessions_env["RECORDS_QUEUE_URL"], "records")
    turn = tenant.client.get(f"/api/sessions/turns/{queued['turn_id']}").ok()["turn"]
    assert (turn["session_id"], turn["turn_index"], turn["status"]) == (queued["session_id"], 0, "completed")


def test_a_redelivered_turn_request_runs_the_runner_once(
    sessions_env: dict[str, str],
    runners: tuple[RunnerProcess, RunnerProcess],
    make_tenant: Callable[..., Tenant],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lamina import aws, state
    from lamina.queues.envelope import Envelope
    from lamina.queues.inbox import process_once
    from lamina.queues.names import Queue
    from lamina.sessions import runner_client
    from lamina.sessions.worker import INTERACTIONS_HANDLERS, TURN_REQUESTED

    # GIVEN a turn requested through the API, its command taken off the interactions queue
    tenant = make_tenant()
    state.configure(state.current().settings.model_copy(update={"runner_url": runners[1].url}))
    run = {
        "messages": [{"role": "user", "content": "once.txt"}],
        "tools": [WRITE_FILE_TOOL],
        "harness": {"tool_choice": choose("write_file")},
    }
    queued = tenant.client.post("/api/sessions/turns/run", {"run": run}).ok()
    sqs = aws.client("sqs")
    messages = sqs.receive_message(QueueUrl=sessions_env["INTERACTIONS_QUEUE_URL"], MaxNumberOfMessages=1)
    envelope = Envelope.from_body(messages["Messages"][0]["Body"])
    # AND a worker that crashes right after the runner ran the turn, before recording its outcome
    calls: list[str] = []
    real_run_turn = runner_client.run_turn

    def crashing_run_turn(body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        calls.append(body["turn_id"])
        real_run_turn(body, **kwargs)
        raise RuntimeError("the worker died mid-turn")

    monkeypatch.setattr(runner_client, "run_turn", crashing_run_turn)
    handler = INTERACTIONS_HANDLERS[TURN_REQUESTED]
    with pytest.raises(RuntimeError):
        process_once(Queue.INTERACTIONS, envelope, handler)

    # WHEN the inbox hands the same envelope over again, twice
    assert process_once(Queue.INTERACTIONS, envelope, handler) is True
    assert process_once(Queue.INTERACTIONS, envelope, handler) is False

    # THEN the runner ran the turn once, and the redelivery marked the unfinished turn interrupted
    assert calls == [queued["turn_id"]]
    assert workspace_keys(tenant.project_id, queued["session_id"]) == {"once.txt": b"once.txt"}
    turn = tenant.client.get(f"/api/sessions/turns/{queued['turn_id']}").ok()["turn"]
    assert turn["status"] == "failed"
    # AND once the turn's records arrive, its real outcome replaces the interruption
    drain(sessions_env["RECORDS_QUEUE_URL"], "records")
    turn = tenant.client.get(f"/api/sessions/turns/{queued['turn_id']}").ok()["turn"]
    assert turn["status"] == "completed"


def test_session_queries_page_with_a_cursor(
    sessions_env: dict[str, str], make_tenant: Callable[..., Tenant]
) -> None:
    from lamina.db.unit_of_work import unit_of_work
    from lamina.queues.envelope import Envelope
    from lamina.sessions.ingest import ingest_records

    # GIVEN three sessions of one turn each, and a session of three turns of three records each, one of
    # which asks for an approval
    tenant = make_tenant()
    session_id = uuid.uuid4()

    def batch(session: uuid.UUID, turn_index: int) -> Envelope:
        records: list[dict[str, Any]] = [
            {"type": "turn.started", "sequence": 0, "turn_index": turn_index},
            {"type": "interaction.request", "sequence": 1, "interaction_id": f"ask-{turn_index}"},
            {"type": "result", "sequence": 2, "turn_index": turn_index, "status": "paused"},
        ]
        payload = {"session_id": str(session), "turn_id": str(uuid.uuid4()), "records": records}
        return Envelope(type="records.batch", project_id=tenant.project_id, payload=payload)

    with unit_of_work() as db:
        for turn_index in range(3):
            ingest_records(batch(session_id, turn_index), db)
        for _ in range(2):
            ingest_records(batch(uuid.uuid4(), 0), db)

    def pages(path: str, body: dict[str, Any], key: str, limit: int) -> list[list[str]]:
        found: list[list[str]] = []
        windowing: dict[str, Any] = {"limit": limit}
        while True:
            page = tenant.client.post(path, {**body, "windowing": windowing}).ok()
            found.append([item.get("id") or item["record_id"] for item in page[key]])
            if page["windowing"]["next"] is None:
                return found
            windowing = {"limit": limit, "next": page["windowing"]["next"]}

    # WHEN each query is read in small windows, following the cursor
    # THEN the windows cover everything once, in the order of one big window
    scoped = {"query": {"session_id": str(session_id)}}
    for path, body, key, limit, sizes in (
        ("/api/sessions/records/query", {"session_id": str(session_id)}, "records", 4, [4, 4, 1]),
        ("/api/sessions/turns/query", scoped, "turns", 2, [2, 1]),
        ("/api/sessions/interactions/query", scoped, "interactions", 2, [2, 1]),
        ("/api/sessions/query", {}, "sessions", 2, [2, 1]),
    ):
        windows = pages(path, body, key, limit)
        everything = tenant.client.post(path, body).ok()[key]
        assert [len(w) for w in windows] == sizes, path
        assert [i for w in windows for i in w] == [item.get("id") or item["record_id"] for item in everything]
