"""The local Lambda runtime end to end: real awslambdaric workers against our loopback Runtime API."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import psutil
import pytest

from lamina_local.lambda_runtime import DEFAULT_PRELOAD, InvokeResult, LambdaRuntime
from lamina_local.model import FunctionSpec

pytestmark = pytest.mark.timeout(60)

T = TypeVar("T")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "functions"
EVENTS = Path(__file__).resolve().parents[1] / "events"
SUPERVISOR_ONLY_VAR = "LEAK_SUPERVISOR_SECRET"
BASE_ENV = {
    "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_REGION": "eu-west-1",
}
LIGHT_PRELOAD = ("json", "logging", "http.client", "concurrent.futures")
CALL_TIMEOUT_S = 20.0


def function(
    logical_id: str,
    handler: str,
    *,
    code: str = "basic",
    timeout_s: float = 5.0,
    reserved_concurrency: int | None = None,
    environment: dict[str, str] | None = None,
    layers: tuple[str, ...] = (),
    snap_start: bool = False,
) -> FunctionSpec:
    return FunctionSpec(
        logical_id=logical_id,
        name=f"lamina-test-{logical_id}",
        code_uri=FIXTURES / code,
        handler=handler,
        runtime="python3.12",
        layer_dirs=tuple(FIXTURES / layer for layer in layers),
        environment=environment or {},
        memory_mb=256,
        timeout_s=timeout_s,
        reserved_concurrency=reserved_concurrency,
        snap_start=snap_start,
    )


FUNCTIONS = {
    "EchoA": function("EchoA", "handlers.echo", environment={"FIXTURE_A": "only-a"}, layers=("layer",)),
    "EchoB": function("EchoB", "handlers.echo", environment={"FIXTURE_B": "only-b"}),
    "Failing": function("Failing", "handlers.fail"),
    "Sleeper": function("Sleeper", "handlers.sleep", timeout_s=1.0),
    "Crasher": function("Crasher", "handlers.crash"),
    "Broken": function("Broken", "handlers.handler", code="broken"),
    "Serial": function("Serial", "handlers.sleep", reserved_concurrency=1),
    "Snappy": function("Snappy", "handlers.echo", snap_start=True),
}


class LogSink:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def __call__(self, function_name: str, line: str) -> None:
        self.lines.append((function_name, line))

    def of(self, function_name: str) -> list[str]:
        return [line for name, line in self.lines if name == function_name]


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    event_loop = asyncio.new_event_loop()
    yield event_loop
    event_loop.close()


def run(
    loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, T], timeout_s: float = CALL_TIMEOUT_S
) -> T:
    return loop.run_until_complete(asyncio.wait_for(coroutine, timeout_s))


def started_runtime(
    loop: asyncio.AbstractEventLoop, functions: dict[str, FunctionSpec], *, use_zygote: bool, **kwargs: Any
) -> tuple[LambdaRuntime, LogSink]:
    logs = LogSink()
    os.environ[SUPERVISOR_ONLY_VAR] = "must-not-leak"
    try:
        runtime = LambdaRuntime(functions, on_log=logs, base_env=BASE_ENV, use_zygote=use_zygote, **kwargs)
        run(loop, runtime.start(), timeout_s=60)
    finally:
        os.environ.pop(SUPERVISOR_ONLY_VAR, None)
    return runtime, logs


@pytest.fixture(scope="module")
def zygote_runtime(loop: asyncio.AbstractEventLoop) -> Iterator[tuple[LambdaRuntime, LogSink]]:
    runtime, logs = started_runtime(loop, FUNCTIONS, use_zygote=True, preload=LIGHT_PRELOAD)
    yield runtime, logs
    run(loop, runtime.stop())


@pytest.fixture(scope="module")
def spawn_runtime(loop: asyncio.AbstractEventLoop) -> Iterator[tuple[LambdaRuntime, LogSink]]:
    echoes = {k: FUNCTIONS[k] for k in ("EchoA", "EchoB")}
    runtime, logs = started_runtime(loop, echoes, use_zygote=False)
    yield runtime, logs
    run(loop, runtime.stop())


async def workers_drop_to_zero(runtime: LambdaRuntime, function_id: str) -> None:
    while runtime.stats()[function_id]["workers"]:
        await asyncio.sleep(0.01)


def body(result: InvokeResult) -> Any:
    return json.loads(result.payload)


def descendants() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def left_after_stop(before: set[int], *, within_s: float = 5.0) -> set[int]:
    """The processes started since `before` still alive `within_s` after a stop (a loaded machine reaps a
    killed process in its own time; one still there after that leaked)."""
    deadline = time.monotonic() + within_s
    while (left := descendants() - before) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


@pytest.mark.parametrize("mode", ["zygote_runtime", "spawn_runtime"])
def test_echo_sees_its_event_and_only_its_own_environment(
    mode: str, request: pytest.FixtureRequest, loop: asyncio.AbstractEventLoop
) -> None:
    # GIVEN two functions with different environments, and a supervisor variable that must stay private
    runtime, logs = request.getfixturevalue(mode)

    # WHEN each is invoked twice
    a1 = run(loop, runtime.invoke("EchoA", {"n": 1}, client_context={"custom": {"k": "v"}}))
    a2 = run(loop, runtime.invoke("EchoA", b'{"n": 2}'))
    b1 = run(loop, runtime.invoke("EchoB", {"n": 3}))

    # THEN the event comes back, the first call was cold and the second reused the warm worker
    assert a1.ok and a2.ok and b1.ok, (a1, a2, b1)
    first, second, other = body(a1), body(a2), body(b1)
    assert first["event"] == {"n": 1} and second["event"] == {"n": 2}
    assert (a1.cold_start, a2.cold_start) == (True, False)
    assert first["pid"] == second["pid"] != other["pid"]
    assert first["request_id"] == a1.request_id
    assert first["client_context"] == {"k": "v"}
    assert first["function_arn"] == "arn:aws:lambda:eu-west-1:123456789012:function:lamina-test-EchoA"
    assert 0 < first["remaining_ms"] <= 5000
    # AND each function sees its own variables only, the Lambda reserved ones, and what the supervisor passed
    env_a, env_b = first["env"], other["env"]
    assert env_a["FIXTURE_A"] == "only-a" and "FIXTURE_A" not in env_b
    assert env_b["FIXTURE_B"] == "only-b" and "FIXTURE_B" not in env_a
    assert SUPERVISOR_ONLY_VAR not in first["env_names"]
    code_uri = str(FIXTURES / "basic")
    assert env_a["AWS_ENDPOINT_URL"] == BASE_ENV["AWS_ENDPOINT_URL"]
    assert env_a["AWS_LAMBDA_FUNCTION_NAME"] == "lamina-test-EchoA"
    assert env_a["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env_a["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env_a["AWS_REGION"] == env_a["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env_a["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/lamina-test-EchoA"
    assert "[$LATEST]" in env_a["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert env_a["LAMBDA_TASK_ROOT"] == code_uri == first["cwd"]
    assert env_a["_HANDLER"] == "handlers.echo"
    assert env_a["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert env_a["PYTHONPATH"].split(os.pathsep) == [code_uri, str(FIXTURES / "layer")]
    assert first["layer_value"] == "from-layer" and other["layer_value"] is None
    # AND the log stream carries START / END / REPORT with the init duration of the cold start
    report = [line for line in logs.of("EchoA") if line.startswith(f"REPORT RequestId: {a1.request_id}")]
    assert len(report) == 1 and "Init Duration:" in report[0]
    assert f"START RequestId: {a2.request_id} Version: $LATEST" in logs.of("EchoA")


def test_handler_exception_fails_the_invocation_and_keeps_the_worker_warm(
    zygote_runtime: tuple[LambdaRuntime, LogSink], loop: asyncio.AbstractEventLoop
) -> None:
    # GIVEN a handler that raises
    runtime, logs = zygote_runtime

    # WHEN it is invoked twice
    first = run(loop, runtime.invoke("Failing", {"value": 42}))
    second = run(loop, runtime.invoke("Failing", {"value": 43}))

    # THEN both fail with awslambdaric's error JSON, and the second call reused the warm worker
    error = body(first)
    assert not first.ok and first.error_type == "ValueError"
    assert error["errorType"] == "ValueError" and error["errorMessage"] == "bad input: 42"
    assert any("handlers.py" in frame for frame in error["stackTrace"])
    assert not second.ok and second.cold_start is False
    assert any("[ERROR] ValueError: bad input: 42" in line for line in logs.of("Failing"))
    assert runtime.stats()["Failing"]["errors"] == 2


def test_timeout_kills_the_worker_and_the_next_call_is_cold(
    zygote_runtime: tuple[LambdaRuntime, LogSink], loop: asyncio.AbstractEventLoop
) -> None:
    # GIVEN a warm worker of a function with a 1 s timeout
    runtime, _ = zygote_runtime
    warm = run(loop, runtime.invoke("Sleeper", {"seconds": 0}))
    pid = body(warm)["pid"]

    # WHEN an invocation sleeps past the timeout
    started = time.perf_counter()
    timed_out = run(loop, runtime.invoke("Sleeper", {"seconds": 30}))
    elapsed = time.perf_counter() - started

    # THEN it fails as Sandbox.Timedout right after the timeout, and the sandbox process is gone
    assert not timed_out.ok and timed_out.error_type == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in body(timed_out)["errorMessage"]
    assert 1.0 <= elapsed < 2.5
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    # AND the next call gets a fresh, cold worker
    after = run(loop, runtime.invoke("Sleeper", {"seconds": 0}))
    assert after.ok and after.cold_start and body(after)["pid"] != pid
    assert runtime.stats()["Sleeper"]["timeouts"] == 1


def test_worker_that_exits_mid_invocation_is_replaced(
    zygote_runtime: tuple[LambdaRuntime, LogSink], loop: asyncio.AbstractEventLoop
) -> None:
    # GIVEN a handler that calls os._exit(3)
    runtime, logs = zygote_runtime

    # WHEN it is invoked twice
    first = run(loop, runtime.invoke("Crasher", {}))
    second = run(loop, runtime.invoke("Crasher", {}))

    # THEN each invocation fails with Runtime.ExitError and each got a fresh worker
    for result in (first, second):
        assert not result.ok and result.error_type == "Runtime.ExitError"
        assert "exit status 3" in body(result)["errorMessage"]
        assert result.cold_start
    assert "about to exit" in logs.of("Crasher")
    assert runtime.stats()["Crasher"]["workers"] == 0


def test_import_error_in_the_handler_module_surfaces_as_init_error(
    zygote_runtime: tuple[LambdaRuntime, LogSink], loop: asyncio.AbstractEventLoop
) -> None:
    # GIVEN a function whose module cannot be imported
    runtime, _ = zygote_runtime

    # WHEN it is invoked
    result = run(loop, runtime.invoke("Broken", {}))

    # THEN the invocation fails with the init error awslambdaric posted to /init/error
    assert not result.ok and result.error_type == "Runtime.ImportModuleError"
    assert "lamina_module_that_does_not_exist" in body(result)["errorMessage"]
    assert result.cold_start and runtime.stats()["Broken"]["workers"] == 0


def test_reserved_concurrency_of_one_serialises_invocations(
    zygote_runtime: tuple[LambdaRuntime, LogSink], loop: asyncio.AbstractEventLoop
) -> None:
    # GIVEN a function with reserved concurrency 1
    runtime, _ = zygote_runtime

    # WHEN three invocations arrive at once
    async def three() -> list[InvokeResult]:
        return list(await asyncio.gather(*(runtime.invoke("Serial", {"seconds": 0.2}) for _ in range(3))))

    results = run(loop, three())

    # THEN they ran one after the other in a single sandbox
    assert all(r.ok for r in results), results
    spans = sorted((body(r)["started"], body(r)["finished"]) for r in results)
    assert all(prev_end <= next_start for (_, prev_end), (next_start, _) in itertools.pairwise(spans))
    assert len({body(r)["pid"] for r in results}) == 1
    assert sum(r.cold_start for r in results) == 1
    assert runtime.stats()["Serial"]["workers"] == 1


def test_snap_start_function_is_ready_before_the_first_call_and_reload_replaces_it(
    zygote_runtime: tuple[LambdaRuntime, LogSink], loop: asyncio.AbstractEventLoop
) -> None:
    # GIVEN a SnapStart function, initialised when the runtime started
    runtime, _ = zygote_runtime
    assert runtime.stats()["Snappy"]["idle"] == 1

    # WHEN it is invoked, then reloaded, then invoked again
    before = run(loop, runtime.invoke("Snappy", {}))
    run(loop, runtime.reload("Snappy"))
    after = run(loop, runtime.invoke("Snappy", {}))

    # THEN neither call paid a cold start, and the reload brought a new sandbox
    assert before.ok and after.ok
    assert (before.cold_start, after.cold_start) == (False, False)
    assert body(before)["pid"] != body(after)["pid"]
    assert body(before)["env"]["AWS_LAMBDA_INITIALIZATION_TYPE"] == "snap-start"
    assert runtime.stats()["Snappy"]["workers"] == 1


@pytest.mark.parametrize("use_zygote", [True, False], ids=["zygote", "spawn"])
def test_stop_leaves_no_process_behind(use_zygote: bool, loop: asyncio.AbstractEventLoop) -> None:
    # GIVEN a runtime with a warm worker and an invocation in flight
    before = descendants()
    functions = {k: FUNCTIONS[k] for k in ("EchoA", "Serial")}
    runtime, _ = started_runtime(loop, functions, use_zygote=use_zygote, preload=LIGHT_PRELOAD)
    assert run(loop, runtime.invoke("EchoA", {})).ok

    async def stop_during_invocation() -> InvokeResult:
        in_flight = asyncio.ensure_future(runtime.invoke("Serial", {"seconds": 30}))
        await asyncio.sleep(0.3)
        assert len(descendants() - before) >= 2
        await runtime.stop()
        return await in_flight

    # WHEN it stops
    interrupted = run(loop, stop_during_invocation())

    # THEN the in-flight invocation failed and no process it started is left
    assert not interrupted.ok and interrupted.error_type == "Runtime.ExitError"
    assert left_after_stop(before) == set()


def test_fastapi_app_behind_mangum_runs_in_a_zygote_with_the_default_preload(
    loop: asyncio.AbstractEventLoop,
) -> None:
    # GIVEN the default preload (FastAPI, Mangum, boto3, SQLAlchemy, ...) and an API-shaped function
    functions = {"Api": function("Api", "app.handler", code="asgi")}
    runtime, _ = started_runtime(loop, functions, use_zygote=True, preload=DEFAULT_PRELOAD)
    try:
        event = json.loads((EVENTS / "apigw-http-api-v2.json").read_text())

        # WHEN an HTTP API event is invoked (cold, then warm)
        cold = run(loop, runtime.invoke("Api", event))
        warm = run(loop, runtime.invoke("Api", event))
    finally:
        run(loop, runtime.stop())

    # THEN the app answered through Mangum both times
    assert cold.ok and warm.ok, cold.payload
    response = body(warm)
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {
        "path": event["rawPath"],
        "method": "POST",
        "function": "lamina-test-Api",
    }
    assert (cold.cold_start, warm.cold_start) == (True, False)


def test_a_dead_zygote_is_replaced_on_the_next_cold_start(loop: asyncio.AbstractEventLoop) -> None:
    # GIVEN a running runtime whose zygote gets killed from outside (think OOM killer)
    before = descendants()
    runtime, _ = started_runtime(loop, {"EchoA": FUNCTIONS["EchoA"]}, use_zygote=True, preload=LIGHT_PRELOAD)
    try:
        first = run(loop, runtime.invoke("EchoA", {}))
        zygotes = [
            p
            for p in psutil.Process().children()  # the zygote is our child; the workers are its children
            if p.pid not in before and any("zygote.py" in arg for arg in p.cmdline())
        ]
        assert len(zygotes) == 1
        zygotes[0].kill()
        # its workers die of PR_SET_PDEATHSIG; a live supervisor notices within milliseconds, while here the
        # event loop only runs inside run(): let it catch up before the next invocation
        run(loop, workers_drop_to_zero(runtime, "EchoA"))

        # WHEN the function is invoked again
        second = run(loop, runtime.invoke("EchoA", {}))
    finally:
        run(loop, runtime.stop())

    # THEN its warm worker died with the zygote, and a new zygote forked a fresh one
    assert first.ok and second.ok, second.payload
    assert second.cold_start and body(second)["pid"] != body(first)["pid"]
    assert left_after_stop(before) == set()


def test_a_caller_that_gives_up_does_not_lose_the_warm_worker(
    zygote_runtime: tuple[LambdaRuntime, LogSink], loop: asyncio.AbstractEventLoop
) -> None:
    # GIVEN a warm worker of a function with reserved concurrency 1
    runtime, _ = zygote_runtime
    warm = run(loop, runtime.invoke("Serial", {"seconds": 0}))

    # WHEN a caller cancels its invocation while the handler runs, and another caller comes next
    async def abandon_then_invoke() -> InvokeResult:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(runtime.invoke("Serial", {"seconds": 0.4}), timeout=0.1)
        return await runtime.invoke("Serial", {"seconds": 0})

    after = run(loop, abandon_then_invoke())

    # THEN the next invocation waited for the abandoned one and reused the same warm worker
    assert after.ok and not after.cold_start
    assert body(after)["pid"] == body(warm)["pid"]
    assert body(after)["started"] >= body(warm)["finished"] + 0.3
