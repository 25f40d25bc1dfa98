"""The built-in agent harness over litellm against an OpenAI-compatible server (tests/fake_openai.py): the
declared key reaches the provider, tool calls run in the workspace. Its own file: the harness imports
litellm in the sandbox, seconds of CPU that the other runner tests do not pay (they use `mock/`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.runner_support import RunnerProcess, runner_env, running_runner, turn_body

pytestmark = pytest.mark.localstack

# Importing litellm in a fresh process is slow on a loaded machine; the turn itself is not.
LITELLM_TURN_TIMEOUT_S = 240.0


@pytest.fixture(scope="module")
def runner(backends: Any, aws_resources: dict[str, str]) -> Iterator[RunnerProcess]:
    env = {
        "LAMINA_ENV": "test",
        "AWS_REGION": "us-east-1",
        **{k: v for k, v in backends.environment().items() if k.startswith("AWS_")},
        **aws_resources,
        "RECORDS_QUEUE_URL": "",
    }
    with running_runner(runner_env(env)) as process:
        yield process


def test_the_agent_harness_calls_a_provider_over_litellm_with_the_declared_key(runner: RunnerProcess) -> None:
    from tests.fake_openai import fake_openai_server

    # GIVEN an OpenAI-compatible server and a model connection carrying its key
    with fake_openai_server() as fake:
        model = {"model": "openai/fake-model", "api_base": fake.api_base, "api_key": "sk-declared-key"}
        # WHEN the built-in harness runs a turn against it
        events = runner.run(
            turn_body(str(uuid.uuid4()), uuid.uuid4(), "hello", model=model), timeout_s=LITELLM_TURN_TIMEOUT_S
        )
    # THEN litellm called it with the declared key, and its answer is the turn's output
    assert events[-1]["status"] == "completed", events[-3:]
    assert events[-1]["output"] == "fake says: hello"
    headers = {k.lower(): v for k, v in fake.requests[0]["headers"].items()}
    assert headers["authorization"] == "Bearer sk-declared-key"
    # AND the answer streamed as it was written, a delta per chunk
    assert [e["text"] for e in events if e["type"] == "message.delta"] == ["fake", " says:", " hello"]
    assert [e["type"] for e in events if e["type"] in ("usage", "message")] == ["usage", "message"]
