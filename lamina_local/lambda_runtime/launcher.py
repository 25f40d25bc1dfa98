"""How worker processes come to life: forked from the warm zygote, or spawned fresh (`--no-zygote`).

Both launchers hand back a `WorkerProcess`: a pid, an `exited` future carrying the return code (negative for
a signal), and `kill()`, which SIGKILLs the worker's whole process group. Each worker's stdout and stderr go
to one pipe whose lines are passed to `on_line`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

logger = logging.getLogger(__name__)

ZYGOTE_SCRIPT = Path(__file__).with_name("zygote.py")
ZYGOTE_READY_TIMEOUT_S = 120.0  # preloading FastAPI+boto3+SQLAlchemy takes seconds on a busy laptop
ZYGOTE_REPLY_TIMEOUT_S = 15.0
ZYGOTE_EXIT_TIMEOUT_S = 5.0
ZYGOTE_MAX_MESSAGE_BYTES = 1024 * 1024
LOG_READ_CHUNK_BYTES = 64 * 1024
MAX_LOG_LINE_BYTES = 256 * 1024  # a longer run without a newline is forwarded in pieces, not buffered forever

# `python -m awslambdaric <handler>` minus the per-invoke polling thread: see THREAD_POLLING in zygote.py.
# Run with -c so that sys.path[0] is the working directory (the task root), as with -m.
SPAWN_BOOTSTRAP = (
    "import os, sys\n"
    "from awslambdaric import bootstrap\n"
    "from awslambdaric.lambda_runtime_client import LambdaRuntimeClient\n"
    "bootstrap.run(sys.argv[1], LambdaRuntimeClient(os.environ['AWS_LAMBDA_RUNTIME_API'], False))\n"
)

LineCallback = Callable[[str], None]


@dataclass(frozen=True)
class LaunchRequest:
    label: str  # "EchoFunction#3", for logs
    handler: str  # "app.handler"
    cwd: Path  # the function's code_uri (LAMBDA_TASK_ROOT)
    sys_path: tuple[str, ...]  # code_uri then layer dirs, ahead of the interpreter's own entries
    env: dict[str, str]  # the complete environment of the worker


class WorkerProcess(Protocol):
    pid: int
    exited: asyncio.Future[int]

    def kill(self) -> None: ...


class WorkerLauncher(Protocol):
    @property
    def alive(self) -> bool: ...

    async def start(self) -> None: ...

    async def launch(self, request: LaunchRequest, on_line: LineCallback) -> WorkerProcess: ...

    async def stop(self) -> None: ...


async def pump_lines(reader: asyncio.StreamReader, on_line: LineCallback) -> None:
    """Forward every line read until EOF; `\\r` counts as a line break (awslambdaric joins tracebacks with it)."""
    pending = b""
    while True:
        chunk = await reader.read(LOG_READ_CHUNK_BYTES)
        if not chunk:
            break
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            _emit_line(line, on_line)
        if len(pending) > MAX_LOG_LINE_BYTES:
            _emit_line(pending, on_line)
            pending = b""
    if pending:
        _emit_line(pending, on_line)


def _emit_line(raw: bytes, on_line: LineCallback) -> None:
    for part in raw.decode("utf-8", "replace").split("\r"):
        if part:
            try:
                on_line(part)
            except Exception:
                logger.exception("log callback failed")


# -- plain spawn ------------------------------------------------------------------------------------------


class SpawnedWorker:
    def __init__(self, process: asyncio.subprocess.Process, on_line: LineCallback) -> None:
        self.pid = process.pid
        self._process = process
        self.exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        assert process.stdout is not None
        self._pump = asyncio.create_task(pump_lines(process.stdout, on_line))
        self._waiter = asyncio.create_task(self._wait())

    async def _wait(self) -> None:
        returncode = await self._process.wait()
        # Let the last lines through before anyone reacts to the exit (bounded: a grandchild may hold the pipe).
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._pump), timeout=0.5)
        if not self.exited.done():
            self.exited.set_result(returncode)

    def kill(self) -> None:
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)


class SpawnLauncher:
    """A fresh interpreter running awslambdaric per worker: slow cold starts, nothing shared; for debugging."""

    def __init__(self) -> None:
        self._workers: set[SpawnedWorker] = set()

    @property
    def alive(self) -> bool:
        return True

    async def start(self) -> None:
        return None

    async def launch(self, request: LaunchRequest, on_line: LineCallback) -> WorkerProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            SPAWN_BOOTSTRAP,
            request.handler,
            cwd=str(request.cwd),
            env=request.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        worker = SpawnedWorker(process, on_line)
        self._workers.add(worker)
        worker.exited.add_done_callback(lambda _: self._workers.discard(worker))
        return worker

    async def stop(self) -> None:
        workers = list(self._workers)
        for worker in workers:
            worker.kill()
        if workers:
            await asyncio.wait([w.exited for w in workers], timeout=ZYGOTE_EXIT_TIMEOUT_S)


# -- zygote -----------------------------------------------------------------------------------------------


class ZygoteWorker:
    def __init__(self, pid: int, launcher: ZygoteLauncher) -> None:
        self.pid = pid
        self._launcher = launcher
        self.exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.pump: asyncio.Task[None] | None = None

    def kill(self) -> None:
        if not self.exited.done():
            self._launcher.send({"type": "kill", "pid": self.pid})

    def mark_exited(self, returncode: int) -> None:
        if self.exited.done():
            return
        if self.pump is None or self.pump.done():
            self.exited.set_result(returncode)
            return

        # Let the last lines through before anyone reacts to the exit (bounded: a grandchild may hold the pipe).
        async def settle(pump: asyncio.Task[None]) -> None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(pump), timeout=0.5)
            if not self.exited.done():
                self.exited.set_result(returncode)

        self._launcher.track(asyncio.create_task(settle(self.pump)))


class ZygoteError(RuntimeError):
    pass


class ZygoteLauncher:
    """Forks workers from one process that imported the heavy libraries once (a local SnapStart)."""

    def __init__(self, preload: Sequence[str], env: dict[str, str]) -> None:
        self._preload = tuple(preload)
        self._env = env
        self._process: asyncio.subprocess.Process | None = None
        self._sock: socket.socket | None = None
        self._ready: asyncio.Future[dict[str, Any]] | None = None
        self._replies: dict[int, asyncio.Future[ZygoteWorker]] = {}
        self._workers: dict[int, ZygoteWorker] = {}
        self._next_request = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._pumps: dict[int, asyncio.Task[None]] = {}
        self.preloaded: list[str] = []
        self.preload_failures: dict[str, str] = {}

    @property
    def alive(self) -> bool:
        return self._sock is not None

    def track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-I",  # isolated: no PYTHONPATH, no cwd or script dir on sys.path, no user site
                str(ZYGOTE_SCRIPT),
                "--control-fd",
                str(theirs.fileno()),
                "--preload",
                ",".join(self._preload),
                env=self._env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,  # Ctrl-C goes to the supervisor, which stops us in order
            )
        finally:
            theirs.close()
        ours.setblocking(False)
        self._sock = ours
        self._ready = loop.create_future()
        loop.add_reader(ours.fileno(), self._on_readable)
        assert self._process.stdout is not None
        self.track(
            asyncio.create_task(
                pump_lines(self._process.stdout, lambda line: logger.info("zygote: %s", line))
            )
        )
        try:
            ready = await asyncio.wait_for(asyncio.shield(self._ready), timeout=ZYGOTE_READY_TIMEOUT_S)
        except (TimeoutError, ZygoteError) as exc:
            await self.stop()
            raise ZygoteError(f"zygote did not become ready: {exc!r}") from exc
        self.preloaded = list(ready.get("preloaded", []))
        self.preload_failures = dict(ready.get("failed", {}))
        if self.preload_failures:
            logger.warning("zygote could not preload %s", self.preload_failures)
        if ready.get("threads", 1) != 1:
            logger.warning("zygote has %s threads after preload: forking it is unsafe", ready["threads"])

    async def launch(self, request: LaunchRequest, on_line: LineCallback) -> WorkerProcess:
        if self._sock is None:
            raise ZygoteError("zygote is not running")
        loop = asyncio.get_running_loop()
        read_fd, write_fd = os.pipe()
        self._next_request += 1
        request_id = self._next_request
        reply: asyncio.Future[ZygoteWorker] = loop.create_future()
        self._replies[request_id] = reply
        message = {
            "type": "spawn",
            "req": request_id,
            "handler": request.handler,
            "cwd": str(request.cwd),
            "sys_path": list(request.sys_path),
            "env": request.env,
        }
        try:
            self.send(message, [write_fd])
        finally:
            os.close(write_fd)
        reader = asyncio.StreamReader(limit=LOG_READ_CHUNK_BYTES)
        try:
            await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", buffering=0)
            )
        except BaseException:
            os.close(read_fd)
            raise
        pump = asyncio.create_task(pump_lines(reader, on_line))
        self.track(pump)
        self._pumps[request_id] = pump
        try:
            return await asyncio.wait_for(reply, timeout=ZYGOTE_REPLY_TIMEOUT_S)
        except BaseException:
            self._replies.pop(request_id, None)
            pump.cancel()
            raise
        finally:
            self._pumps.pop(request_id, None)

    def send(self, message: dict[str, Any], fds: list[int] | None = None) -> None:
        if self._sock is None:
            return
        data = json.dumps(message).encode()
        if len(data) > ZYGOTE_MAX_MESSAGE_BYTES:
            raise ZygoteError(f"zygote message too large ({len(data)} bytes)")
        try:
            socket.send_fds(self._sock, [data], fds or [])
        except BlockingIOError:
            # The zygote is busy forking: a SEQPACKET socket holds dozens of messages, so this is rare.
            raise ZygoteError("zygote control socket is full") from None
        except OSError as exc:
            raise ZygoteError(f"zygote control socket failed: {exc}") from exc

    def _on_readable(self) -> None:
        assert self._sock is not None
        while True:
            try:
                data = self._sock.recv(ZYGOTE_MAX_MESSAGE_BYTES)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._on_zygote_gone()
                return
            self._dispatch(json.loads(data))

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "ready":
            if self._ready is not None and not self._ready.done():
                self._ready.set_result(message)
        elif kind == "spawned":
            worker = ZygoteWorker(int(message["pid"]), self)
            worker.pump = self._pumps.get(int(message["req"]))
            self._workers[worker.pid] = worker
            reply = self._replies.pop(int(message["req"]), None)
            if reply is not None and not reply.done():
                reply.set_result(worker)
            else:
                worker.kill()  # nobody waits for it any more
        elif kind == "spawn_failed":
            reply = self._replies.pop(int(message["req"]), None)
            if reply is not None and not reply.done():
                reply.set_exception(ZygoteError(f"fork failed: {message.get('error')}"))
        elif kind == "exited":
            exited = self._workers.pop(int(message["pid"]), None)
            if exited is not None:
                exited.mark_exited(int(message["returncode"]))

    def _on_zygote_gone(self) -> None:
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        error = ZygoteError("zygote exited")
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(error)
        for reply in self._replies.values():
            if not reply.done():
                reply.set_exception(error)
        self._replies.clear()
        # Its children die with it (PR_SET_PDEATHSIG) and init reaps them.
        for worker in self._workers.values():
            worker.mark_exited(-signal.SIGKILL)
        self._workers.clear()

    async def stop(self) -> None:
        """Closing the control socket makes the zygote kill and reap every worker, then exit."""
        if self._sock is not None:
            self._on_zygote_gone()
        if self._process is not None and self._process.returncode is None:
            try:
                await asyncio.wait_for(self._process.wait(), timeout=ZYGOTE_EXIT_TIMEOUT_S)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._process.pid, signal.SIGKILL)
                await asyncio.wait_for(self._process.wait(), timeout=ZYGOTE_EXIT_TIMEOUT_S)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=1.0)
