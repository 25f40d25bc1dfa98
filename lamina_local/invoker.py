"""The one interface every event source of `lamina up` uses to run a function.

The function engine conforms to `Invoker`; the gateway, the SQS pollers and the schedules only ever call
`invoke`. `CallableInvoker` is a small in-process implementation (plain Python callables run in a worker
thread) for tests and benchmarks of the event sources.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

# The error type Lambda reports when a function runs past its timeout.
TIMEOUT_ERROR_TYPE = "Sandbox.Timedout"


@dataclass
class InvokeResult:
    ok: bool
    payload: bytes  # the function's JSON result, or Lambda's error document when not ok
    error_type: str | None
    cold_start: bool
    duration_ms: float
    request_id: str


class Invoker(Protocol):
    async def invoke(
        self, function: str, payload: bytes | dict[str, Any], *, client_context: Any = None
    ) -> InvokeResult: ...


@dataclass
class FakeLambdaContext:
    """The few LambdaContext attributes handlers commonly read."""

    function_name: str
    aws_request_id: str
    client_context: Any = None
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = ""
    deadline_ms: float = 0.0

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self.deadline_ms - time.time() * 1000))


Handler = Callable[[Any, Any], Any]  # (event, context); context is a FakeLambdaContext


def _call_with_own_loop(handler: Handler, event: Any, context: FakeLambdaContext) -> Any:
    """Run a handler as a Lambda runtime would: a thread whose `asyncio.get_event_loop()` works (Mangum)."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return handler(event, context)
    finally:
        asyncio.set_event_loop(None)
        loop.close()


@dataclass
class CallableInvoker:
    """Runs `handlers[function](event, context)` in a thread, with Lambda's result and error shapes.

    Every call is recorded in `calls` (function, decoded event) so tests can assert on what a function saw.
    """

    handlers: dict[str, Handler]
    timeout_s: float = 30.0
    calls: list[tuple[str, Any]] = field(default_factory=list)
    _warm: set[str] = field(default_factory=set)

    async def invoke(
        self, function: str, payload: bytes | dict[str, Any], *, client_context: Any = None
    ) -> InvokeResult:
        event = json.loads(payload) if isinstance(payload, bytes | bytearray) else payload
        self.calls.append((function, event))
        request_id = str(uuid.uuid4())
        cold_start = function not in self._warm
        self._warm.add(function)
        started = time.perf_counter()
        context = FakeLambdaContext(
            function_name=function,
            aws_request_id=request_id,
            client_context=client_context,
            deadline_ms=time.time() * 1000 + self.timeout_s * 1000,
        )
        handler = self.handlers[function]
        try:
            result = await asyncio.wait_for(
                asyncio.to_thread(_call_with_own_loop, handler, event, context), self.timeout_s
            )
        except TimeoutError:
            error = {"errorType": TIMEOUT_ERROR_TYPE, "errorMessage": "Task timed out"}
            return self._result(False, error, TIMEOUT_ERROR_TYPE, cold_start, started, request_id)
        except Exception as exc:  # the handler's own failure is data here, as in Lambda
            error = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
            return self._result(False, error, type(exc).__name__, cold_start, started, request_id)
        return self._result(True, result, None, cold_start, started, request_id)

    @staticmethod
    def _result(
        ok: bool, body: Any, error_type: str | None, cold_start: bool, started: float, request_id: str
    ) -> InvokeResult:
        return InvokeResult(
            ok=ok,
            payload=json.dumps(body).encode(),
            error_type=error_type,
            cold_start=cold_start,
            duration_ms=(time.perf_counter() - started) * 1000,
            request_id=request_id,
        )
