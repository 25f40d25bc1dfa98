"""`python -m runner`: serve the runner on RUNNER_HOST:RUNNER_PORT until SIGINT/SIGTERM.

On SIGTERM (ECS stopping the task, scale-in) every running turn's harness is killed first: each turn then
syncs its workspace back and ends its stream, and uvicorn's graceful shutdown waits for those responses.
"""

from __future__ import annotations

from types import FrameType
from typing import Any

import uvicorn

from runner.config import RunnerConfig
from runner.sandbox import harden_runner_process
from runner.server import create_app


class RunnerServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, app: Any) -> None:
        super().__init__(config)
        self.runner_app = app

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        turns = getattr(self.runner_app.state, "turns", None)
        if turns is not None:
            turns.kill_all("shutdown")
        super().handle_exit(sig, frame)


def main() -> None:
    config = RunnerConfig.from_env()
    harden_runner_process()
    app = create_app(config)
    server = RunnerServer(
        uvicorn.Config(app, host=config.host, port=config.port, log_level=config.log_level), app
    )
    server.run()


if __name__ == "__main__":
    main()
