"""The local sandbox a harness runs in: a subprocess in its own session and working directory (the
workspace), with a scrubbed environment (a minimal PATH plus the model credentials the run declared, never
the runner's own variables), an address-space and CPU-time limit, and a wall-clock kill by the caller.

The runner itself is made non-dumpable (`harden_runner_process`) so a harness running as the same user
cannot read `/proc/<runner>/environ` or attach to it: on Linux that makes the runner's /proc files owned
by root. No FUSE, no privileges: everything here works in an unprivileged Fargate container.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import runner

SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
CPU_SLACK_S = 5
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
ENV_START_FIELD = 50
ENV_END_FIELD = 51
# Room for one event line: a file's content read by a tool can be large.
STREAM_LIMIT = 16 * 1024 * 1024


def _prctl(option: int, value: int) -> None:
    if sys.platform != "linux":
        return
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def harden_runner_process() -> None:
    """Keep the runner's secrets from the harnesses it starts.

    Non-dumpable: a same-user process can no longer read the runner's /proc files or attach to it. And the
    initial environment block (what /proc/<pid>/environ shows, even to root) is zeroed: Python copied it
    into `os.environ` at startup, which is where the runner reads its settings from; only C-level
    `getenv` loses it, and every child the runner starts gets an explicit environment.
    """
    _prctl(PR_SET_DUMPABLE, 0)
    wipe_initial_environment()


def wipe_initial_environment() -> None:
    if sys.platform != "linux":
        return
    import ctypes

    stat = Path("/proc/self/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    # Fields 50 and 51 of /proc/<pid>/stat (Linux 3.5+): where the environment block starts and ends.
    start, end = int(fields[ENV_START_FIELD - 3]), int(fields[ENV_END_FIELD - 3])
    if 0 < start < end:
        ctypes.memset(start, 0, end - start)


def code_path() -> str:
    """PYTHONPATH for the built-in harness: the runner package and the `lamina` library (for `mock/`)."""
    paths = [str(Path(runner.__file__).resolve().parents[1])]
    try:
        import lamina

        paths.append(str(Path(lamina.__file__).resolve().parents[1]))
    except ImportError:  # pragma: no cover - the runner image always ships lamina
        pass
    return os.pathsep.join(paths)


def sandbox_environment(
    workspace: Path, declared: Mapping[str, str], *, python_path: str | None
) -> dict[str, str]:
    """The harness's whole environment: built from nothing, not filtered from the runner's."""
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), SYSTEM_PATH]),
        "HOME": str(workspace),
        "TMPDIR": str(workspace),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        # litellm would otherwise fetch its model price list from the internet at import.
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    if python_path:
        env["PYTHONPATH"] = python_path
    env.update(declared)
    return env


def _limits(memory_mb: int, cpu_s: int) -> Callable[[], None]:
    def apply() -> None:
        import resource

        memory = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + CPU_SLACK_S))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        # If the runner dies (even by SIGKILL) its harnesses die with it rather than run on unsupervised.
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

    return apply


async def spawn(
    argv: list[str], workspace: Path, env: dict[str, str], *, memory_mb: int, timeout_s: float
) -> asyncio.subprocess.Process:
    """Start the harness; stdin and stdout are pipes (the NDJSON channel), stderr is inherited (logs)."""
    return await asyncio.create_subprocess_exec(
        *argv,
        cwd=str(workspace),
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=None,
        start_new_session=True,
        preexec_fn=_limits(memory_mb, int(timeout_s) + 1),
        limit=STREAM_LIMIT,
    )


def kill_group(process: asyncio.subprocess.Process) -> None:
    """SIGKILL the harness and everything it started (its own process group)."""
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
