"""The runner starts as `python -m runner` (as ECS and `lamina up` start it) and serves /health."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

RUNNER_DIR = Path(__file__).resolve().parents[2] / "runner_container"
STARTUP_DEADLINE_S = 20.0
POLL_INTERVAL_S = 0.1
STOP_DEADLINE_S = 10.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _runner_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNNER_")}
    env["PYTHONPATH"] = str(RUNNER_DIR)
    env.update(overrides)
    return env


def _start_runner(**overrides: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "runner"],
        cwd=RUNNER_DIR,
        env=_runner_env(**overrides),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _stop(process: subprocess.Popen[bytes]) -> bytes:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    output, _ = process.communicate()
    return output


@pytest.fixture
def runner_port() -> Iterator[int]:
    port = _free_port()
    process = _start_runner(RUNNER_HOST="127.0.0.1", RUNNER_PORT=str(port))
    try:
        yield port
    finally:
        _stop(process)
    assert process.returncode is not None


def _get_json(url: str) -> tuple[int, dict[str, object]]:
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status, json.loads(response.read())
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(POLL_INTERVAL_S)


def test_health_answers_ok_with_version(runner_port: int) -> None:
    # GIVEN the runner started as a child process on a free loopback port
    # WHEN its health endpoint is requested over HTTP
    status, body = _get_json(f"http://127.0.0.1:{runner_port}/health")
    # THEN it says it is up and which version runs
    assert status == 200
    assert body["status"] == "ok"
    assert isinstance(body["version"], str) and body["version"]


def test_refuses_a_port_that_is_not_a_number() -> None:
    # GIVEN a misconfigured RUNNER_PORT
    process = _start_runner(RUNNER_PORT="eighty")
    # WHEN it starts
    try:
        process.wait(timeout=STARTUP_DEADLINE_S)
    finally:
        output = _stop(process)
    # THEN it exits at once, naming the variable
    assert process.returncode != 0
    assert b"RUNNER_PORT" in output
