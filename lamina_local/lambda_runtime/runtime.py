"""`LambdaRuntime`: invoke the stack's functions locally, in warm awslambdaric workers, the way Lambda does."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
import os
import secrets
import signal
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lamina_local.invoker import InvokeResult
from lamina_local.lambda_runtime.environment import (
    DEFAULT_REGION,
    FUNCTION_VERSION,
    LOCAL_ACCOUNT_ID,
    SUPERVISOR_PASSTHROUGH_VARS,
    build_worker_environment,
    function_arn,
    new_log_stream_name,
    worker_sys_path,
)
from lamina_local.lambda_runtime.launcher import (
    LaunchRequest,
    LineCallback,
    SpawnLauncher,
    WorkerLauncher,
    WorkerProcess,
    ZygoteError,
    ZygoteLauncher,
)
from lamina_local.lambda_runtime.pool import FunctionPool, PoolClosedError, Worker
from lamina_local.lambda_runtime.runtime_api import (
    Invocation,
    RuntimeApiEndpoint,
    error_body,
)
from lamina_local.model import FunctionSpec

logger = logging.getLogger(__name__)

# Imported once by the zygote and shared by every forked worker. Only libraries that start no threads and
# open no sockets at import; the project's own code (`lamina`) is never preloaded, so a reload sees new code.
DEFAULT_PRELOAD: tuple[str, ...] = (
    "awslambdaric.bootstrap",
    "awslambdaric.lambda_runtime_client",
    "snapshot_restore_py",
    "concurrent.futures",
    "http.client",
    "json",
    "logging",
    "uuid",
    "pydantic",
    "pydantic_settings",
    "fastapi",
    "starlette",
    "mangum",
    "boto3",
    "botocore",
    "botocore.session",
    "sqlalchemy",
    "sqlalchemy.orm",
    "pg8000",
    "redis",
    "httpx",
    "jwt",
    "aws_lambda_powertools.logging",
)
DEFAULT_CONCURRENCY_CAP = 10  # concurrent sandboxes per function when the template reserves none
# Lambda gives init 10 s; past that it retries init inside the invoke, bounded by the function timeout.
INIT_PHASE_LIMIT_S = 10.0
KILL_WAIT_S = 5.0  # SIGKILL is immediate; this only bounds waiting for the exit report
MAX_DELIVERY_ATTEMPTS = 2  # a worker that died before taking the event gets it retried on a fresh one

LogCallback = Callable[[str, str], None]


class LambdaRuntimeError(RuntimeError):
    pass


class UnknownFunctionError(LambdaRuntimeError, KeyError):
    pass


class RuntimeStoppedError(LambdaRuntimeError):
    pass


async def start_launcher(
    *, use_zygote: bool = True, preload: Sequence[str] = DEFAULT_PRELOAD
) -> WorkerLauncher:
    """Start the worker launcher (the zygote, by default); call it from the thread running the event loop."""
    launcher: WorkerLauncher
    if use_zygote:
        # The zygote gets the basics only: libraries that read the environment at import see no secrets.
        zygote_env = {k: os.environ[k] for k in SUPERVISOR_PASSTHROUGH_VARS if k in os.environ}
        launcher = ZygoteLauncher(tuple(preload), zygote_env)
    else:
        launcher = SpawnLauncher()
    started_at = time.perf_counter()
    await launcher.start()
    if use_zygote:
        logger.info("zygote ready in %.0f ms", (time.perf_counter() - started_at) * 1000)
    return launcher


class LambdaRuntime:
    """Warm worker pools for a set of functions, keyed by logical id, on one event loop.

    Conforms to `lamina_local.invoker.Invoker`, the interface the gateway, SQS pollers and schedules call.
    """

    def __init__(
        self,
        functions: Mapping[str, FunctionSpec],
        *,
        on_log: LogCallback | None = None,
        base_env: Mapping[str, str] | None = None,
        use_zygote: bool = True,
        preload: Sequence[str] = DEFAULT_PRELOAD,
        region: str | None = None,
        default_concurrency: int = DEFAULT_CONCURRENCY_CAP,
        launcher: WorkerLauncher | None = None,
    ) -> None:
        self._functions = dict(functions)
        # A launcher started ahead of time (see `start_launcher`), so the zygote's imports overlap other boot work.
        self._prestarted_launcher = launcher
        self._on_log = on_log
        self._base_env = dict(base_env or {})
        self._use_zygote = use_zygote
        self._preload = tuple(preload)
        self._region = (
            region
            or self._base_env.get("AWS_REGION")
            or self._base_env.get("AWS_DEFAULT_REGION")
            or DEFAULT_REGION
        )
        self._account_id = self._base_env.get("AWS_ACCOUNT_ID", LOCAL_ACCOUNT_ID)
        self._default_concurrency = default_concurrency
        self._pools: dict[str, FunctionPool] = {}
        self._launcher: WorkerLauncher | None = None
        self._worker_numbers = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._launcher_lock = asyncio.Lock()
        self._started = False
        self._stopping = False

    # -- lifecycle ---------------------------------------------------------------------------------------

    async def start(self, *, prewarm: bool = True) -> None:
        """Start the zygote (or nothing, without it) and initialise one worker of each SnapStart function.

        With `prewarm=False` invocations are accepted at once and `prewarm()` runs the SnapStart inits later,
        so a supervisor can overlap them with the rest of its boot.
        """
        if self._started:
            return
        for logical_id, spec in self._functions.items():
            limit = spec.reserved_concurrency if spec.reserved_concurrency else self._default_concurrency
            self._pools[logical_id] = FunctionPool(spec, max(1, limit))
        self._launcher = self._prestarted_launcher or await self._new_launcher()
        self._started = True
        if prewarm:
            await self.prewarm()

    async def prewarm(self) -> None:
        """Initialise one worker of each SnapStart function (its init and before-snapshot hooks)."""
        await asyncio.gather(*(self._prewarm(p) for p in self._pools.values() if p.spec.snap_start))

    async def _new_launcher(self) -> WorkerLauncher:
        return await start_launcher(use_zygote=self._use_zygote, preload=self._preload)

    async def _launch(self, request: LaunchRequest, on_line: LineCallback) -> WorkerProcess:
        """Launch a worker; a zygote that died (OOM killer, stray kill) is replaced once, transparently."""
        launcher = self._launcher
        assert launcher is not None
        try:
            return await launcher.launch(request, on_line)
        except ZygoteError:
            if self._stopping or launcher.alive:
                raise
        async with self._launcher_lock:
            if self._launcher is launcher:
                logger.warning("the zygote died; starting a new one")
                await launcher.stop()
                self._launcher = await self._new_launcher()
        assert self._launcher is not None
        return await self._launcher.launch(request, on_line)

    async def stop(self) -> None:
        """Kill every worker and the zygote; leaves no process behind."""
        if self._stopping:
            return
        self._stopping = True
        workers: list[Worker] = []
        for pool in self._pools.values():
            pool.close()
            workers.extend(pool.members)
        for worker in workers:
            worker.process.kill()
        if self._launcher is not None:
            await self._launcher.stop()
        if workers:
            await asyncio.wait([w.process.exited for w in workers], timeout=KILL_WAIT_S)
        await asyncio.gather(*(w.endpoint.close() for w in workers), return_exceptions=True)
        for worker in workers:
            worker.release_resources()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=KILL_WAIT_S)

    async def reload(self, function: str) -> None:
        """Drain and replace a function's workers (its code changed): in-flight invocations finish first."""
        pool = self._pool(function)
        pool.generation += 1
        for worker in pool.take_idle():
            await self._retire(pool, worker)
        drained = await pool.wait_until_no_member(pool.generation, pool.spec.timeout_s + KILL_WAIT_S)
        if not drained:
            for worker in [w for w in pool.members if w.generation < pool.generation]:
                await self._retire(pool, worker)
        if pool.spec.snap_start:
            await self._prewarm(pool)

    def stats(self) -> dict[str, dict[str, int]]:
        return {
            logical_id: {
                "invocations": pool.counters.invocations,
                "cold_starts": pool.counters.cold_starts,
                "errors": pool.counters.errors,
                "timeouts": pool.counters.timeouts,
                "workers": len(pool.members),
                "idle": pool.idle_count,
            }
            for logical_id, pool in self._pools.items()
        }

    # -- invoke ------------------------------------------------------------------------------------------

    async def invoke(
        self, function: str, payload: bytes | str | dict[str, Any] | list[Any], *, client_context: Any = None
    ) -> InvokeResult:
        """Run one event through the function (by logical id), like a synchronous `Invoke`."""
        pool = self._pool(function)
        if not self._started or self._stopping:
            raise RuntimeStoppedError("the Lambda runtime is not running")
        body = _encode_payload(payload)
        context_header = None
        if client_context is not None:
            context_header = client_context if isinstance(client_context, str) else json.dumps(client_context)
        request_id = str(uuid.uuid4())
        pool.counters.invocations += 1
        started = time.perf_counter()
        for _attempt in range(MAX_DELIVERY_ATTEMPTS):
            try:
                worker = await pool.acquire()
            except PoolClosedError as exc:
                raise RuntimeStoppedError("the Lambda runtime stopped") from exc
            cold_start = worker is None
            if worker is None:
                pool.counters.cold_starts += 1
                worker, failure = await self._start_worker(pool, request_id)
                if worker is None:
                    return self._finish_failed_init(pool, request_id, failure, started)
            elif worker.prewarmed:
                worker.prewarmed = False
            result = await self._invoke_on(pool, worker, request_id, body, context_header, cold_start)
            if result is not None:
                return result
        duration_ms = (time.perf_counter() - started) * 1000
        message = f"RequestId: {request_id} Error: Runtime exited without providing a reason"
        return self._count(
            pool,
            InvokeResult(
                False,
                error_body("Runtime.ExitError", message),
                "Runtime.ExitError",
                True,
                duration_ms,
                request_id,
            ),
        )

    async def _invoke_on(
        self,
        pool: FunctionPool,
        worker: Worker,
        request_id: str,
        body: bytes,
        client_context: str | None,
        cold_start: bool,
    ) -> InvokeResult | None:
        """Deliver the event to this worker and wait, bounded by the function timeout. None: not delivered."""
        spec = pool.spec
        loop = asyncio.get_running_loop()
        invocation = Invocation(
            request_id=request_id,
            payload=body,
            deadline_ms=int(time.time() * 1000 + spec.timeout_s * 1000),
            function_arn=function_arn(spec, self._region, self._account_id),
            trace_id=_new_trace_id(),
            client_context=client_context,
            cognito_identity=None,
            outcome=loop.create_future(),
        )
        self._emit(spec.logical_id, f"START RequestId: {request_id} Version: {FUNCTION_VERSION}")
        started = time.perf_counter()
        worker.endpoint.assign(invocation)
        try:
            await asyncio.wait(
                (invocation.outcome, worker.process.exited),
                timeout=spec.timeout_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        except asyncio.CancelledError:
            # The caller went away; the sandbox stays busy until it answers, so finish it in the background.
            remaining = spec.timeout_s - (time.perf_counter() - started)
            self._track(asyncio.create_task(self._finish_abandoned(pool, worker, invocation, remaining)))
            raise
        duration_ms = (time.perf_counter() - started) * 1000
        status = ""
        if invocation.outcome.done():
            outcome = invocation.outcome.result()
            result = InvokeResult(
                outcome.ok, outcome.body, outcome.error_type, cold_start, duration_ms, request_id
            )
            if not pool.release(worker):
                await self._retire(pool, worker)
        elif worker.process.exited.done():
            invocation.outcome.cancel()
            await self._retire(pool, worker)
            if not invocation.delivered:
                self._emit(spec.logical_id, f"END RequestId: {request_id}")
                return None
            reason = _describe_exit(worker.process.exited.result())
            message = f"RequestId: {request_id} Error: Runtime exited with error: {reason}"
            result = InvokeResult(
                False,
                error_body("Runtime.ExitError", message),
                "Runtime.ExitError",
                cold_start,
                duration_ms,
                request_id,
            )
            status = "\tStatus: error\tError Type: Runtime.ExitError"
        else:
            invocation.outcome.cancel()
            max_memory = worker.max_memory_mb()
            await self._retire(pool, worker)
            message = f"RequestId: {request_id} Error: Task timed out after {spec.timeout_s:.2f} seconds"
            result = InvokeResult(
                False,
                error_body("Sandbox.Timedout", message),
                "Sandbox.Timedout",
                cold_start,
                duration_ms,
                request_id,
            )
            self._emit(
                spec.logical_id,
                f"{_utc_now()} {request_id} Task timed out after {spec.timeout_s:.2f} seconds",
            )
            status = "\tStatus: timeout"
            self._report(spec, request_id, duration_ms, max_memory, worker if cold_start else None, status)
            return self._count(pool, result)
        self._report(
            spec, request_id, duration_ms, worker.max_memory_mb(), worker if cold_start else None, status
        )
        return self._count(pool, result)

    async def _finish_abandoned(
        self, pool: FunctionPool, worker: Worker, invocation: Invocation, remaining_s: float
    ) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait(
                (invocation.outcome, worker.process.exited),
                timeout=max(0.0, remaining_s),
                return_when=asyncio.FIRST_COMPLETED,
            )
        if invocation.outcome.done():
            if not pool.release(worker):
                await self._retire(pool, worker)
            return
        spec = pool.spec
        if worker.alive:
            pool.counters.timeouts += 1
            # As Lambda does: the caller gave up (an authorizer's 10 s, a gateway's integration timeout), the
            # sandbox ran on until the function's own timeout killed it, and its log says so.
            self._emit(
                spec.logical_id,
                f"{_utc_now()} {invocation.request_id} Task timed out after {spec.timeout_s:.2f} seconds",
            )
            self._emit(
                spec.logical_id,
                f"END RequestId: {invocation.request_id}\nREPORT RequestId: {invocation.request_id}"
                f"\tDuration: {spec.timeout_s * 1000:.2f} ms\tStatus: timeout",
            )
        else:
            self._emit(spec.logical_id, f"RequestId: {invocation.request_id} Error: Runtime exited")
        pool.counters.errors += 1
        invocation.outcome.cancel()
        await self._retire(pool, worker)

    def _finish_failed_init(
        self, pool: FunctionPool, request_id: str, failure: InvokeResult | None, started: float
    ) -> InvokeResult:
        duration_ms = (time.perf_counter() - started) * 1000
        assert failure is not None
        failure.duration_ms = duration_ms
        failure.request_id = request_id
        spec = pool.spec
        self._emit(spec.logical_id, f"START RequestId: {request_id} Version: {FUNCTION_VERSION}")
        self._emit(spec.logical_id, f"END RequestId: {request_id}")
        self._emit(
            spec.logical_id,
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\tBilled Duration: "
            f"{math.ceil(duration_ms)} ms\tMemory Size: {spec.memory_mb} MB\tStatus: error\t"
            f"Error Type: {failure.error_type}",
        )
        return self._count(pool, failure)

    # -- workers -----------------------------------------------------------------------------------------

    async def _start_worker(
        self, pool: FunctionPool, request_id: str
    ) -> tuple[Worker | None, InvokeResult | None]:
        """Start a worker in the slot the caller reserved and wait for its init: (worker, None) or (None, error)."""
        spec = pool.spec
        assert self._launcher is not None
        label = f"{spec.logical_id}#{next(self._worker_numbers)}"
        endpoint = RuntimeApiEndpoint(label)
        launched_at = time.perf_counter()
        try:
            await endpoint.start()
            env = build_worker_environment(
                spec,
                runtime_api=endpoint.address,
                region=self._region,
                log_stream=new_log_stream_name(),
                base_env=self._base_env,
                initialization_type="snap-start" if spec.snap_start else "on-demand",
            )
            request = LaunchRequest(label, spec.handler, spec.code_uri, worker_sys_path(spec), env)
            process = await self._launch(request, lambda line: self._emit(spec.logical_id, line))
        except OSError as exc:  # e.g. code_uri does not exist (plain spawn mode)
            pool.cancel_reservation()
            await endpoint.close()
            message = f"RequestId: {request_id} Error: could not start the runtime: {exc}"
            body = error_body("Runtime.InvalidEntrypoint", message)
            return None, InvokeResult(False, body, "Runtime.InvalidEntrypoint", True, 0, "")
        except BaseException:
            pool.cancel_reservation()
            await endpoint.close()
            raise
        worker = Worker(
            label=label,
            generation=pool.generation,
            endpoint=endpoint,
            process=process,
            started_at=launched_at,
        )
        pool.add(worker)
        process.exited.add_done_callback(lambda _: self._on_worker_exit(pool, worker))
        init_limit_s = INIT_PHASE_LIMIT_S + spec.timeout_s
        try:
            initialised = await worker.wait_initialised(init_limit_s)
        except BaseException:
            await self._retire(pool, worker)
            raise
        if initialised is None:
            logger.info("cold start %s: init %.0f ms", label, worker.init_duration_ms or 0)
            return worker, None
        await self._retire(pool, worker)
        if isinstance(initialised, TimeoutError):
            message = f"RequestId: {request_id} Error: Task timed out after {init_limit_s:.2f} seconds (init)"
            failure = InvokeResult(
                False, error_body("Sandbox.Timedout", message), "Sandbox.Timedout", True, 0, ""
            )
        elif initialised.body:
            failure = InvokeResult(False, initialised.body, initialised.error_type, True, 0, "")
        else:
            reason = _describe_exit(process.exited.result()) if process.exited.done() else "unknown"
            message = f"RequestId: {request_id} Error: Runtime exited with error: {reason}"
            failure = InvokeResult(
                False, error_body("Runtime.ExitError", message), "Runtime.ExitError", True, 0, ""
            )
        logger.warning("init of %s failed: %s", label, failure.error_type)
        return None, failure

    async def _prewarm(self, pool: FunctionPool) -> None:
        """Initialise one worker ahead of traffic; a failure is logged and left to the first invocation."""
        if not pool.try_reserve():
            return
        try:
            worker, failure = await self._start_worker(pool, "snapstart-init")
        except Exception as exc:
            self._emit(pool.spec.logical_id, f"INIT failed: could not start a worker: {exc!r}")
            return
        if worker is None:
            assert failure is not None
            self._emit(
                pool.spec.logical_id, f"INIT failed ({failure.error_type}): {failure.payload.decode()}"
            )
            return
        worker.prewarmed = True
        self._emit(pool.spec.logical_id, f"INIT_REPORT Init Duration: {worker.init_duration_ms or 0:.2f} ms")
        if not pool.release(worker):
            await self._retire(pool, worker)

    async def _retire(self, pool: FunctionPool, worker: Worker) -> None:
        """Take the worker out of its pool, SIGKILL its process group, wait (bounded), close its endpoint."""
        pool.remove(worker)
        worker.process.kill()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(worker.process.exited), timeout=KILL_WAIT_S)
        await worker.endpoint.close()

    def _on_worker_exit(self, pool: FunctionPool, worker: Worker) -> None:
        pool.remove(worker)
        worker.release_resources()
        if not self._stopping:
            self._track(asyncio.create_task(worker.endpoint.close()))

    # -- helpers -----------------------------------------------------------------------------------------

    def _pool(self, function: str) -> FunctionPool:
        try:
            return self._pools[function]
        except KeyError:
            if function in self._functions:
                raise RuntimeStoppedError("the Lambda runtime is not started") from None
            raise UnknownFunctionError(function) from None

    def _count(self, pool: FunctionPool, result: InvokeResult) -> InvokeResult:
        if not result.ok:
            pool.counters.errors += 1
        if result.error_type == "Sandbox.Timedout":
            pool.counters.timeouts += 1
        return result

    def _report(
        self,
        spec: FunctionSpec,
        request_id: str,
        duration_ms: float,
        max_memory_mb: int | None,
        cold_worker: Worker | None,
        status: str,
    ) -> None:
        self._emit(spec.logical_id, f"END RequestId: {request_id}")
        line = (
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\tBilled Duration: "
            f"{math.ceil(duration_ms)} ms\tMemory Size: {spec.memory_mb} MB"
        )
        if max_memory_mb is not None:
            line += f"\tMax Memory Used: {max_memory_mb} MB"
        if cold_worker is not None and cold_worker.init_duration_ms is not None:
            line += f"\tInit Duration: {cold_worker.init_duration_ms:.2f} ms"
        self._emit(spec.logical_id, line + status)
        if max_memory_mb is not None and max_memory_mb > spec.memory_mb:
            # Locally nothing is killed (the worker shares the machine); on AWS this is Runtime.OutOfMemory.
            self._emit(
                spec.logical_id,
                f"WARNING RequestId: {request_id} used {max_memory_mb} MB, over the template's MemorySize "
                f"{spec.memory_mb} MB: on AWS this invocation would fail with Runtime.OutOfMemory",
            )

    def _emit(self, function: str, line: str) -> None:
        if self._on_log is None:
            logger.info("[%s] %s", function, line)
            return
        try:
            self._on_log(function, line)
        except Exception:
            logger.exception("on_log callback failed")

    def _track(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _encode_payload(payload: bytes | str | dict[str, Any] | list[Any]) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode()
    return json.dumps(payload).encode()


def _new_trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0"


def _describe_exit(returncode: int) -> str:
    """Lambda's wording, which comes from Go's os.ProcessState: "exit status 3", "signal: killed"."""
    if returncode >= 0:
        return f"exit status {returncode}"
    names = {signal.SIGKILL: "killed", signal.SIGSEGV: "segmentation fault", signal.SIGABRT: "aborted"}
    try:
        sig = signal.Signals(-returncode)
    except ValueError:
        return f"signal: {-returncode}"
    return f"signal: {names.get(sig, sig.name.lower())}"


def _utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z"
