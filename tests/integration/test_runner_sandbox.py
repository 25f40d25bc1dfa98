"""The runner's sandbox and durability: a SIGKILLed runner loses nothing checkpointed, a harness cannot
read the runner's secrets, the admission limit answers 429, and /kill ends a turn with its files synced.
Runner subprocesses against moto's S3; command harnesses are small Python scripts."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.runner_support import RunnerProcess, runner_env, running_runner, turn_body

pytestmark = pytest.mark.localstack

RUNNER_SECRET = f"runner-secret-{uuid.uuid4().hex}"
DATABASE_SECRET = f"postgresql://admin:db-secret-{uuid.uuid4().hex}@db/lamina"
PROJECT = str(uuid.uuid4())

WRITE_THEN_HANG = """
import json, os, sys, time
sys.stdin.readline()
open("before.txt", "w").write("kept")
os.makedirs("dir", exist_ok=True)
open("dir/nested.txt", "w").write("nested")
print(json.dumps({"type": "message", "message": {"role": "assistant", "content": str(os.getpid())}}), flush=True)
time.sleep(120)
"""
CAT_FILES = """
import json, pathlib, sys
sys.stdin.readline()
files = {str(p): p.read_text() for p in sorted(pathlib.Path(".").rglob("*")) if p.is_file()}
print(json.dumps({"type": "message", "message": {"role": "assistant", "content": json.dumps(files)}}), flush=True)
"""
SNOOP = """
import json, os, sys
sys.stdin.readline()
try:
    parent = open(f"/proc/{os.getppid()}/environ", "rb").read().decode(errors="replace")
except OSError as error:
    parent = f"denied: {error}"
seen = {"env": dict(os.environ), "parent": parent}
print(json.dumps({"type": "message", "message": {"role": "assistant", "content": json.dumps(seen)}}), flush=True)
"""


@pytest.fixture(scope="module")
def sandbox_env(backends: Any, aws_resources: dict[str, str]) -> dict[str, str]:
    """A runner environment with secrets in it (and no records queue: these turns keep no history)."""
    env = {
        "LAMINA_ENV": "test",
        "AWS_REGION": "us-east-1",
        **{k: v for k, v in backends.environment().items() if k.startswith("AWS_")},
        **aws_resources,
        "RECORDS_QUEUE_URL": "",
        "LAMINA_SECRET_KEY": RUNNER_SECRET,
        "DATABASE_URL": DATABASE_SECRET,
    }
    return runner_env(env)


@pytest.fixture(scope="module")
def runner(sandbox_env: dict[str, str]) -> Iterator[RunnerProcess]:
    with running_runner({**sandbox_env, "RUNNER_MAX_RUNS": "1"}) as process:
        yield process


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    folder = tmp_path_factory.mktemp("harnesses")
    commands = {}
    for name, source in {"write_then_hang": WRITE_THEN_HANG, "cat_files": CAT_FILES, "snoop": SNOOP}.items():
        path = folder / f"{name}.py"
        path.write_text(source)
        commands[name] = [sys.executable, str(path)]
    return commands


def command_turn(
    session_id: uuid.UUID, command: list[str], harness_limits: dict[str, Any] | None = None, **fields: Any
) -> dict[str, Any]:
    harness = {"kind": "command", "command": command, **(harness_limits or {})}
    return turn_body(PROJECT, session_id, "go", harness=harness, **fields)


def output(events: list[dict[str, Any]]) -> Any:
    return json.loads(events[-1]["output"])


def test_a_sigkilled_runner_loses_nothing_checkpointed(
    sandbox_env: dict[str, str], runner: RunnerProcess, scripts: dict[str, list[str]]
) -> None:
    # GIVEN a turn on a runner of its own whose harness writes files, then hangs
    session_id = uuid.uuid4()
    with running_runner(sandbox_env) as doomed:
        uploaded: set[str] = set()
        harness_pid = 0
        for event in doomed.stream(command_turn(session_id, scripts["write_then_hang"])):
            if event["type"] == "message":
                harness_pid = int(event["message"]["content"])
            if event["type"] == "file":
                uploaded.add(event["path"])
            if uploaded == {"before.txt", "dir/nested.txt"}:
                # WHEN the runner is SIGKILLed mid-turn, after a checkpoint
                doomed.process.send_signal(signal.SIGKILL)
                doomed.process.wait(timeout=10)
                break
    # THEN its harness dies with it
    deadline = time.monotonic() + 10
    while Path(f"/proc/{harness_pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (
        not Path(f"/proc/{harness_pid}").exists()
        or "Z" in Path(f"/proc/{harness_pid}/stat").read_text().split()[2]
    )
    # AND the next turn, on another runner, has every checkpointed file
    events = runner.run(command_turn(session_id, scripts["cat_files"], turn_index=1))
    assert events[-1]["status"] == "completed"
    assert output(events) == {"before.txt": "kept", "dir/nested.txt": "nested"}


def test_the_harness_cannot_read_the_runner_secrets(
    runner: RunnerProcess, scripts: dict[str, list[str]]
) -> None:
    # GIVEN a runner whose environment holds its secret key, database URL and AWS credentials
    # WHEN a harness dumps its environment and tries the runner's
    model = {"model": "mock/echo", "api_key": "sk-declared", "env": {"OPENAI_API_KEY": "sk-openai-declared"}}
    events = runner.run(command_turn(uuid.uuid4(), scripts["snoop"], model=model))
    seen = output(events)
    # THEN it has only the declared model credentials and a minimal environment
    env = seen["env"]
    assert env["OPENAI_API_KEY"] == "sk-openai-declared" and env["LAMINA_MODEL_API_KEY"] == "sk-declared"
    dump = json.dumps(seen)
    for secret in (
        RUNNER_SECRET,
        DATABASE_SECRET,
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ENDPOINT_URL",
        "DATABASE_URL",
    ):
        assert secret not in dump
    assert not {"LAMINA_SECRET_KEY", "AWS_ACCESS_KEY_ID", "LAMINA_BUCKET"} & set(env)
    # AND it cannot read them from the runner's /proc either
    assert "LAMINA_SECRET_KEY" not in seen["parent"]
    assert os.getuid() == 0 or seen["parent"].startswith("denied")


def test_admission_limit_and_kill_with_sync(runner: RunnerProcess, scripts: dict[str, list[str]]) -> None:
    # GIVEN a runner admitting one turn at a time, busy with a hanging turn
    session_id = uuid.uuid4()
    events: list[dict[str, Any]] = []
    started = threading.Event()

    def consume() -> None:
        for event in runner.stream(command_turn(session_id, scripts["write_then_hang"])):
            events.append(event)
            if event["type"] == "message":
                started.set()

    thread = threading.Thread(target=consume)
    thread.start()
    assert started.wait(30)
    headers = {"Authorization": f"Bearer {runner.token}"}
    # WHEN another turn arrives THEN it is refused with 429; a wrong token is 401
    busy = httpx.post(
        f"{runner.url}/run", json=command_turn(uuid.uuid4(), scripts["cat_files"]), headers=headers
    )
    assert busy.status_code == 429 and busy.headers["retry-after"]
    assert (
        httpx.post(f"{runner.url}/run", json={}, headers={"Authorization": "Bearer nope"}).status_code == 401
    )
    # WHEN the running turn is killed
    killed = httpx.post(f"{runner.url}/kill", json={"session_id": str(session_id)}, headers=headers)
    assert killed.status_code == 200
    thread.join(30)
    # THEN it ends as killed, with its files synced back
    assert events[-1]["type"] == "result" and events[-1]["status"] == "killed"
    assert events[-1]["files"]["uploaded"] == 2
    after = runner.run(command_turn(session_id, scripts["cat_files"], turn_index=1))
    assert output(after) == {"before.txt": "kept", "dir/nested.txt": "nested"}


def test_sigterm_ends_running_turns_with_their_files_synced(
    sandbox_env: dict[str, str], scripts: dict[str, list[str]]
) -> None:
    # GIVEN a runner with a turn in progress
    session_id = uuid.uuid4()
    events: list[dict[str, Any]] = []
    with running_runner(sandbox_env) as stopping:
        for event in stopping.stream(command_turn(session_id, scripts["write_then_hang"])):
            events.append(event)
            if event["type"] == "message":
                # WHEN ECS stops the task (SIGTERM)
                stopping.process.send_signal(signal.SIGTERM)
        # THEN the turn ends as killed by the shutdown, its files synced, and the runner exits
        # (uvicorn re-raises the signal once it has shut down gracefully)
        assert stopping.process.wait(timeout=30) in (0, -signal.SIGTERM)
    result = events[-1]
    assert (result["type"], result["status"], result["killed_by"]) == ("result", "killed", "shutdown")
    assert result["files"]["uploaded"] == 2


def test_time_and_memory_limits_end_the_harness(runner: RunnerProcess, scripts: dict[str, list[str]]) -> None:
    # GIVEN a harness that writes files then hangs, run with a five-second limit
    hung = runner.run(command_turn(uuid.uuid4(), scripts["write_then_hang"], harness_limits={"timeout_s": 5}))
    # THEN the runner kills it at the limit and still syncs what it wrote
    result = hung[-1]
    assert (result["status"], result["killed_by"]) == ("failed", "timeout")
    assert "time limit" in result["error"] and result["files"]["uploaded"] == 2
    # GIVEN a harness that allocates more than its address-space limit
    greedy = [sys.executable, "-c", "import sys; sys.stdin.readline(); x = bytearray(512 * 1024 * 1024)"]
    result = runner.run(command_turn(uuid.uuid4(), greedy, harness_limits={"memory_mb": 128}))[-1]
    # THEN it fails, and the turn says so
    assert result["status"] == "failed" and "exited with 1" in result["error"]


def test_a_turn_paused_for_user_input_resumes_with_the_answer(runner: RunnerProcess) -> None:
    # GIVEN a turn whose agent asks the user a question (the built-in `ask_user` tool)
    session_id = uuid.uuid4()
    ask = {"type": "function", "function": {"name": "ask_user", "parameters": {"type": "object"}}}
    harness = {"tool_choice": {"type": "function", "function": {"name": "ask_user"}}}
    paused = runner.run(turn_body(PROJECT, session_id, "favourite colour?", tools=[ask], harness=harness))[-1]
    assert paused["status"] == "paused" and paused["interaction"]["kind"] == "user_input"
    # WHEN the next turn resumes it with the person's answer
    resume = {
        "interaction_id": paused["interaction"]["interaction_id"],
        "tool_call_id": paused["interaction"]["tool_call_id"],
        "kind": "user_input",
        "answer": "blue",
    }
    body = {
        **turn_body(PROJECT, session_id, "", tools=[ask]),
        "messages": paused["messages"],
        "resume": resume,
    }
    events = runner.run({**body, "turn_index": 1})
    # THEN the answer is the paused call's result, and the turn completes
    assert [e["content"] for e in events if e["type"] == "tool.result"] == ["blue"]
    assert events[-1]["status"] == "completed"
