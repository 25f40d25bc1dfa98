"""The local Lambda execution engine of `lamina up`.

Each function runs in warm worker processes under the real runtime client (awslambdaric), which talks to a
Lambda Runtime API served on loopback (one port per worker). Workers are forked from a zygote that imported
the heavy libraries once, so a cold start costs a fork and the handler's own imports.
"""

from __future__ import annotations

from lamina_local.invoker import InvokeResult
from lamina_local.lambda_runtime.runtime import (
    DEFAULT_CONCURRENCY_CAP,
    DEFAULT_PRELOAD,
    LambdaRuntime,
    LambdaRuntimeError,
    RuntimeStoppedError,
    UnknownFunctionError,
    start_launcher,
)

__all__ = [
    "DEFAULT_CONCURRENCY_CAP",
    "DEFAULT_PRELOAD",
    "InvokeResult",
    "LambdaRuntime",
    "LambdaRuntimeError",
    "RuntimeStoppedError",
    "UnknownFunctionError",
    "start_launcher",
]
