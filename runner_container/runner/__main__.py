"""`python -m runner`: serve the runner on RUNNER_HOST:RUNNER_PORT until SIGINT/SIGTERM."""

from __future__ import annotations

import uvicorn

from runner.config import RunnerConfig
from runner.server import create_app


def main() -> None:
    config = RunnerConfig.from_env()
    uvicorn.run(create_app(), host=config.host, port=config.port, log_level=config.log_level)


if __name__ == "__main__":
    main()
