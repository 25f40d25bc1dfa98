"""The runner's configuration, read once from the environment. Every variable it reads is named here."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

N = TypeVar("N", int, float)

HOST_ENV = "RUNNER_HOST"
PORT_ENV = "RUNNER_PORT"
LOG_LEVEL_ENV = "RUNNER_LOG_LEVEL"
MAX_RUNS_ENV = "RUNNER_MAX_RUNS"
WORK_DIR_ENV = "RUNNER_WORK_DIR"
CHECKPOINT_ENV = "RUNNER_CHECKPOINT_S"
TURN_TIMEOUT_ENV = "RUNNER_TURN_TIMEOUT_S"
MEMORY_ENV = "RUNNER_MEMORY_MB"

# Loopback unless told otherwise: the container image sets RUNNER_HOST=0.0.0.0, a developer's machine
# should not expose a service that runs code to the network by accident.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_LOG_LEVEL = "info"
# Admission: runs at once on one task (1 vCPU, 2 GB); more get 429 and the caller retries or scales out.
DEFAULT_MAX_RUNS = 4
DEFAULT_CHECKPOINT_S = 2.0
DEFAULT_TURN_TIMEOUT_S = 600.0
DEFAULT_MEMORY_MB = 2048


class RunnerConfigError(ValueError):
    """The environment describes an unusable runner configuration."""


@dataclass(frozen=True)
class RunnerConfig:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    log_level: str = DEFAULT_LOG_LEVEL
    max_runs: int = DEFAULT_MAX_RUNS
    # Where session workspaces live while a turn runs; empty means a temporary directory.
    work_dir: str = ""
    checkpoint_interval_s: float = DEFAULT_CHECKPOINT_S
    turn_timeout_s: float = DEFAULT_TURN_TIMEOUT_S
    memory_mb: int = DEFAULT_MEMORY_MB

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RunnerConfig:
        env = os.environ if environ is None else environ
        raw_port = env.get(PORT_ENV, str(DEFAULT_PORT))
        try:
            port = int(raw_port)
        except ValueError:
            raise RunnerConfigError(f"{PORT_ENV} must be an integer, got {raw_port!r}") from None
        if not 0 < port < 65536:
            raise RunnerConfigError(f"{PORT_ENV} must be a TCP port, got {port}")
        return cls(
            host=env.get(HOST_ENV, DEFAULT_HOST),
            port=port,
            log_level=env.get(LOG_LEVEL_ENV, DEFAULT_LOG_LEVEL).lower(),
            max_runs=_number(env, MAX_RUNS_ENV, DEFAULT_MAX_RUNS, int),
            work_dir=env.get(WORK_DIR_ENV, ""),
            checkpoint_interval_s=_number(env, CHECKPOINT_ENV, DEFAULT_CHECKPOINT_S, float),
            turn_timeout_s=_number(env, TURN_TIMEOUT_ENV, DEFAULT_TURN_TIMEOUT_S, float),
            memory_mb=_number(env, MEMORY_ENV, DEFAULT_MEMORY_MB, int),
        )


def _number(env: Mapping[str, str], name: str, default: N, kind: Callable[[str], N]) -> N:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise RunnerConfigError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:  # type: ignore[operator]
        raise RunnerConfigError(f"{name} must be positive, got {raw!r}")
    return value
