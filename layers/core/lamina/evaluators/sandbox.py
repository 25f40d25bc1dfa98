"""Custom code evaluators: user Python run in a separate, locked-down interpreter.

The child process gets:
- a scrubbed environment (only PATH, LANG and PYTHON* isolation flags: no credentials, no DATABASE_URL);
- no network: before the user code is compiled, an audit hook refuses `socket.socket` creation and any
  `socket.connect`/`getaddrinfo`, and no module can remove an audit hook;
- `RLIMIT_CPU` (CPU seconds) and `RLIMIT_AS` (address space), and a wall-clock kill from the parent;
- isolated mode (`-I`: no site-packages of the user, no PYTHONPATH, no cwd on sys.path) in an empty temp dir.
Its stdout is captured (and returned as `stdout`); the result travels back on a separate pipe so a
print cannot forge it.

This is process isolation on the same host, not a VM: a determined attacker with a kernel exploit is out of
its scope. The runner container's sandboxes are the place for untrusted agents.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from typing import Any

from lamina.evaluators.matchers import Case, EvaluatorInputError

DEFAULT_TIMEOUT_S = 10.0
MAX_TIMEOUT_S = 60.0
CPU_LIMIT_S = 10
MEMORY_LIMIT_BYTES = 512 * 1024 * 1024
MAX_STDOUT_BYTES = 64 * 1024
MAX_CODE_BYTES = 256 * 1024

# Runs in the child, before the user's code. Reads {code, inputs, outputs, testcase, correct_answer} on stdin.
_BOOTSTRAP = r"""
import json, os, sys

def _no_network(event, args):
    if event in ("socket.__new__", "socket.connect", "socket.getaddrinfo", "socket.bind",
                 "socket.sendto", "socket.gethostbyname", "socket.gethostbyaddr"):
        raise PermissionError("network access is disabled in the evaluator sandbox")
    if event in ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.fork", "os.forkpty"):
        raise PermissionError("starting processes is disabled in the evaluator sandbox")

payload = json.loads(sys.stdin.read())
result_pipe = os.fdopen(payload.pop("result_fd"), "w")
sys.addaudithook(_no_network)
namespace = {"__name__": "__evaluator__"}
try:
    exec(compile(payload["code"], "<evaluator>", "exec"), namespace)
    evaluate = namespace.get("evaluate")
    if not callable(evaluate):
        raise NameError("the code defines no evaluate(...) function")
    import inspect
    names = list(inspect.signature(evaluate).parameters)
    if names[:4] == ["app_params", "inputs", "output", "correct_answer"]:
        value = evaluate({}, payload["inputs"], payload["outputs"], payload["correct_answer"])
    elif len(names) >= 3:
        value = evaluate(payload["inputs"], payload["outputs"], payload["testcase"])
    else:
        value = evaluate(payload["outputs"], payload["testcase"])
    message = {"value": value}
except BaseException as error:
    message = {"error": "%s: %s" % (type(error).__name__, error)}
sys.stdout.flush()
try:
    result_pipe.write(json.dumps(message, default=str))
except (TypeError, ValueError) as error:
    result_pipe.write(json.dumps({"error": "the result is not JSON: %s" % error}))
result_pipe.close()
"""


def _limits(cpu_s: int, memory_bytes: int) -> Any:
    def apply() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s))
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.setsid()  # its own process group: the wall-clock kill takes any child with it

    return apply


def _scrubbed_env() -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
    }


def run_python(
    code: str,
    payload: dict[str, Any],
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    cpu_s: int = CPU_LIMIT_S,
    memory_bytes: int = MEMORY_LIMIT_BYTES,
) -> tuple[dict[str, Any], str]:
    """Run `code`'s `evaluate` in the sandbox; (the child's result message, its stdout)."""
    if len(code.encode()) > MAX_CODE_BYTES:
        raise EvaluatorInputError(f"code is larger than {MAX_CODE_BYTES} bytes")
    read_fd, write_fd = os.pipe()
    try:
        with tempfile.TemporaryDirectory(prefix="lamina-eval-") as workdir:
            process = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _BOOTSTRAP],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=workdir,
                env=_scrubbed_env(),
                pass_fds=(write_fd,),
                preexec_fn=_limits(cpu_s, memory_bytes),
            )
            write_fd_number = write_fd
            os.close(write_fd)
            write_fd = -1
            try:
                stdout, stderr = process.communicate(
                    json.dumps({**payload, "code": code, "result_fd": write_fd_number}, default=str).encode(),
                    timeout=timeout_s,
                )
            except subprocess.TimeoutExpired:
                _kill_group(process)
                process.communicate()
                raise EvaluatorInputError(
                    f"the code ran past its wall-clock limit of {timeout_s:g} s"
                ) from None
            with os.fdopen(read_fd, "r") as results:
                read_fd = -1
                raw = results.read()
    finally:
        for fd in (read_fd, write_fd):
            if fd >= 0:
                os.close(fd)
    text_out = stdout[:MAX_STDOUT_BYTES].decode("utf-8", "replace")
    if not raw:
        reason = _death_reason(process.returncode, stderr)
        raise EvaluatorInputError(reason)
    return json.loads(raw), text_out


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    import signal

    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _death_reason(returncode: int, stderr: bytes) -> str:
    import signal

    if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return "the code was killed at its CPU time limit"
    tail = stderr[-500:].decode("utf-8", "replace").strip()
    if "MemoryError" in tail:
        return f"the code ran out of its memory limit ({MEMORY_LIMIT_BYTES // 2**20} MiB)"
    return f"the code exited with status {returncode} without a result" + (f": {tail}" if tail else "")


def outputs_of(value: Any) -> dict[str, Any]:
    """A number is a score, a bool a success, a dict is the outputs as they are."""
    if isinstance(value, bool):
        return {"success": value}
    if isinstance(value, int | float):
        return {"score": float(value)}
    if isinstance(value, dict):
        return value
    raise EvaluatorInputError(f"evaluate(...) returned {type(value).__name__}: return a number, bool or dict")


def run_code_evaluator(settings: dict[str, Any], case: Case) -> dict[str, Any]:
    code = settings.get("code")
    if not isinstance(code, str) or not code.strip():
        raise EvaluatorInputError("code is empty")
    runtime = settings.get("runtime") or "python"
    if runtime != "python":
        raise EvaluatorInputError(f"runtime {runtime!r} is not supported (python only)")
    timeout = float(settings.get("timeout_s") or DEFAULT_TIMEOUT_S)
    timeout = min(max(timeout, 0.1), MAX_TIMEOUT_S)
    try:
        correct_answer = case.expected(settings)
    except EvaluatorInputError:
        correct_answer = None
    payload = {
        "inputs": case.inputs,
        "outputs": case.outputs,
        "testcase": case.testcase,
        "correct_answer": correct_answer,
    }
    message, stdout = run_python(code, payload, timeout_s=timeout, cpu_s=max(1, int(timeout) + 1))
    if "error" in message:
        error = str(message["error"])
        if error.startswith("MemoryError"):
            error = f"the code ran out of its memory limit ({MEMORY_LIMIT_BYTES // 2**20} MiB)"
        raise EvaluatorInputError(error)
    outputs = outputs_of(message.get("value"))
    return {**outputs, "stdout": stdout} if stdout else outputs
