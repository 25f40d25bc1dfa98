"""The environment of a worker process, built the way Lambda builds a sandbox's.

Layers, lowest precedence first:
  1. a few basics of the supervisor (PATH, HOME, locale, the venv) — nothing else of its environment leaks;
  2. `base_env`: what the supervisor passes on purpose (AWS credentials, endpoint URLs of the emulators);
  3. the function's own `environment` from the template;
  4. Lambda's reserved variables, which a function cannot override on AWS either.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import secrets
import time
from collections.abc import Mapping
from pathlib import Path

from lamina_local.model import FunctionSpec

DEFAULT_REGION = "us-east-1"
LOCAL_ACCOUNT_ID = "123456789012"  # moto's default account
PYTHON_EXECUTION_ENV = "AWS_Lambda_python3.12"
FUNCTION_VERSION = "$LATEST"

SUPERVISOR_PASSTHROUGH_VARS = (
    "PATH",
    "HOME",
    "USER",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "TMPDIR",
    "VIRTUAL_ENV",
    "PYTHONIOENCODING",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONUTF8",
)


def function_arn(spec: FunctionSpec, region: str, account_id: str) -> str:
    return f"arn:aws:lambda:{region}:{account_id}:function:{spec.name}"


def log_group_name(spec: FunctionSpec) -> str:
    return f"/aws/lambda/{spec.name}"


def new_log_stream_name() -> str:
    """Like Lambda's: one stream per sandbox, `YYYY/MM/DD/[$LATEST]<32 hex>`."""
    return f"{time.strftime('%Y/%m/%d', time.gmtime())}/[{FUNCTION_VERSION}]{secrets.token_hex(16)}"


def worker_sys_path(spec: FunctionSpec) -> tuple[str, ...]:
    """What goes ahead of the interpreter's own sys.path: the task root, then the layers in order."""
    return (str(spec.code_uri), *(str(Path(d)) for d in spec.layer_dirs))


def build_worker_environment(
    spec: FunctionSpec,
    *,
    runtime_api: str,
    region: str,
    log_stream: str,
    base_env: Mapping[str, str],
    initialization_type: str = "on-demand",
    supervisor_env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    source = os.environ if supervisor_env is None else supervisor_env
    env = {name: source[name] for name in SUPERVISOR_PASSTHROUGH_VARS if name in source}
    env.update(base_env)
    # The library keeps its database timeouts below the function's own (lamina.settings.function_timeout_s);
    # the template may set it, else it is the function's Timeout.
    env["LAMINA_FUNCTION_TIMEOUT_S"] = f"{spec.timeout_s:g}"
    env.update(spec.environment)
    env.update(
        {
            "AWS_LAMBDA_RUNTIME_API": runtime_api,
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": FUNCTION_VERSION,
            "AWS_LAMBDA_INITIALIZATION_TYPE": initialization_type,
            "AWS_LAMBDA_LOG_GROUP_NAME": log_group_name(spec),
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_EXECUTION_ENV": PYTHON_EXECUTION_ENV,
            "LAMBDA_TASK_ROOT": str(spec.code_uri),
            "LAMBDA_RUNTIME_DIR": awslambdaric_dir(),
            "_HANDLER": spec.handler,
            "PYTHONPATH": os.pathsep.join(worker_sys_path(spec)),
            "PYTHONUNBUFFERED": "1",  # logs reach the supervisor line by line
            "TZ": ":UTC",
        }
    )
    # awslambdaric switches to its multi-concurrency mode when this is set; a sandbox serves one event at a time.
    env.pop("AWS_LAMBDA_MAX_CONCURRENCY", None)
    return env


@functools.cache
def awslambdaric_dir() -> str:
    spec = importlib.util.find_spec("awslambdaric")
    return os.path.dirname(spec.origin) if spec is not None and spec.origin else ""
