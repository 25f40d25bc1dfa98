"""Runner processes for tests: `python -m runner` as ECS and `lamina up` start it, on a free loopback port,
configured like the stack (moto S3 and SQS, the test database's queues), plus helpers to call it."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from tests.integration.api_client import free_port
from tests.support import ROOT

STARTUP_DEADLINE_S = 30.0
TURN_TIMEOUT_S = 60.0
WRITE_FILE_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "write_file",
        "parameters": {
            "type": "object",
            "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
        },
    },
}
READ_FILE_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "read_file",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
    },
}


@dataclass
class RunnerProcess:
    url: str
    process: subprocess.Popen[bytes]
    token: str

    def run(self, body: dict[str, Any], timeout_s: float = TURN_TIMEOUT_S) -> list[dict[str, Any]]:
        """POST /run streaming NDJSON; every line, the result last."""
        return list(self.stream(body, timeout_s))

    def stream(self, body: dict[str, Any], timeout_s: float = TURN_TIMEOUT_S) -> Iterator[dict[str, Any]]:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/x-ndjson"}
        with httpx.stream(
            "POST", f"{self.url}/run", json=body, headers=headers, timeout=timeout_s
        ) as response:
            assert response.status_code == 200, response.read().decode()
            for line in response.iter_lines():
                if line.strip():
                    yield json.loads(line)


def runner_env(stack_env: dict[str, str], **overrides: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        **stack_env,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "runner_container"), str(ROOT / "layers" / "core")]),
        "RUNNER_CHECKPOINT_S": "0.2",
        "RUNNER_LOG_LEVEL": "warning",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    env.update(overrides)
    return env


@contextlib.contextmanager
def running_runner(env: dict[str, str]) -> Iterator[RunnerProcess]:
    from lamina.settings import Settings

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "runner"], env={**env, "RUNNER_PORT": str(port)}, cwd=ROOT / "runner_container"
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    try:
        while True:
            assert process.poll() is None, f"the runner exited with {process.returncode}"
            assert time.monotonic() < deadline, "the runner did not start"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.05)
        yield RunnerProcess(url, process, Settings(**env).runner_bearer_token)
    finally:
        # SIGKILL: a graceful stop is tested on its own; its harnesses die with it (PR_SET_PDEATHSIG).
        if process.poll() is None:
            process.kill()
        process.wait()


def turn_body(project_id: str, session_id: uuid.UUID, message: str, **fields: Any) -> dict[str, Any]:
    return {
        "session_id": str(session_id),
        "project_id": project_id,
        "messages": [{"role": "user", "content": message}],
        "model": {"model": "mock/echo"},
        **fields,
    }


def choose(tool: str) -> dict[str, Any]:
    """A first-step tool_choice that makes the `mock` provider call `tool` (with the user's text as args)."""
    return {"type": "function", "function": {"name": tool}}
