"""`lamina up` watches what it started (embedded Postgres, Redis, the AWS emulator, the runner) and restarts a
part that dies, with a log line for the death and one for the recovery. `lamina status` shows each part's state.

Clients need no restart: each part comes back at the same address (Postgres and Redis on the same unix
socket, the emulator on the same port, with its state restored), and the library's pools reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

CHECK_INTERVAL_S = 0.2
FIRST_RETRY_S = 0.5
MAX_RETRY_S = 10.0

LogSink = Callable[[str, str], None]  # (source, line)


@dataclass
class Supervised:
    """One part: how to tell it is alive, how to start it again, how to wait until it serves.

    `respawn` runs on the event loop's thread (a child started there dies with the supervisor, even by
    SIGKILL) and must not block; `wait_ready` runs in a worker thread and raises when the part did not come up.
    """

    name: str
    alive: Callable[[], bool]
    respawn: Callable[[], None]
    wait_ready: Callable[[], None]
    state: str = "running"
    restarts: int = 0
    last_death: str = ""
    last_recovery_s: float | None = None
    died_at: float = 0.0
    _retry_at: float = field(default=0.0, repr=False)
    _retry_s: float = field(default=FIRST_RETRY_S, repr=False)

    def stats(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "restarts": self.restarts,
            "last_death": self.last_death,
            "last_recovery_s": self.last_recovery_s,
        }


class Supervisor:
    """Checks every part `CHECK_INTERVAL_S`; restarts a dead one, retrying with backoff while it fails."""

    def __init__(self, parts: list[Supervised], on_log: LogSink) -> None:
        self.parts = {part.name: part for part in parts}
        self.on_log = on_log

    def add(self, part: Supervised) -> None:
        self.parts[part.name] = part

    def stats(self) -> dict[str, dict[str, Any]]:
        return {name: part.stats() for name, part in self.parts.items()}

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            for part in list(self.parts.values()):
                if stopping.is_set():
                    return
                if part.state == "restarting" or part.alive():
                    continue
                if part.state == "running":
                    part.state = "down"
                    part.last_death = time.strftime("%H:%M:%S")
                    part.died_at = time.monotonic()
                    self.on_log("supervisor", f"{part.name} died; restarting it")
                if time.monotonic() >= part._retry_at:
                    await self._restart(part, stopping)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), CHECK_INTERVAL_S)

    async def _restart(self, part: Supervised, stopping: asyncio.Event) -> None:
        part.state = "restarting"
        started = time.monotonic()
        try:
            part.respawn()
            await asyncio.to_thread(part.wait_ready)
        except Exception as error:
            part.state = "down"
            part._retry_at = time.monotonic() + part._retry_s
            self.on_log(
                "supervisor",
                f"{part.name} did not come back ({error}); next attempt in {part._retry_s:.1f} s",
            )
            part._retry_s = min(part._retry_s * 2, MAX_RETRY_S)
            return
        if stopping.is_set():
            return
        died_at = part.died_at or started
        part.state = "running"
        part.restarts += 1
        part._retry_s = FIRST_RETRY_S
        part.last_recovery_s = round(time.monotonic() - died_at, 2)
        self.on_log(
            "supervisor",
            f"{part.name} restarted ({part.last_recovery_s:.2f} s after its death; restart #{part.restarts})",
        )
