"""The runner's configuration, read once from the environment. Every variable it reads is named here."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

HOST_ENV = "RUNNER_HOST"
PORT_ENV = "RUNNER_PORT"
LOG_LEVEL_ENV = "RUNNER_LOG_LEVEL"

# Loopback unless told otherwise: the container image sets RUNNER_HOST=0.0.0.0, a developer's machine
# should not expose a service that runs code to the network by accident.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_LOG_LEVEL = "info"


class RunnerConfigError(ValueError):
    """The environment describes an unusable runner configuration."""


@dataclass(frozen=True)
class RunnerConfig:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    log_level: str = DEFAULT_LOG_LEVEL

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
        )
