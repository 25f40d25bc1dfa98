"""The zygote: one process that imports the heavy libraries once, then forks warm Lambda workers on request.

Run as a script (`python -I zygote.py --control-fd N --preload a,b`) so it imports nothing of the project
and its `sys.path` holds only the interpreter's own entries. It talks to the supervisor over a SOCK_SEQPACKET
Unix socket, one JSON message per packet:

  supervisor -> zygote  {"type": "spawn", "req": n, "handler", "cwd", "sys_path", "env"}  + the log pipe fd
                        {"type": "kill", "pid": p}
  zygote -> supervisor  {"type": "ready", "preloaded": [...], "failed": {...}, "threads": n}
                        {"type": "spawned", "req": n, "pid": p} | {"type": "spawn_failed", "req": n, "error"}
                        {"type": "exited", "pid": p, "returncode": rc}

Why kills go through the zygote: it is the parent that reaps the workers, so only it knows whether a pid is
still its child; a supervisor-side kill could hit a recycled pid. When the control socket closes (the
supervisor stopped or died) the zygote kills every worker, reaps them and exits.

Rules that keep fork safe: no threads, event loops or sockets (other than the control socket) exist in the
zygote before fork; `gc.freeze()` keeps preloaded objects out of later collections so children share their
pages copy-on-write instead of touching them.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import importlib
import io
import json
import os
import select
import signal
import socket
import sys
import threading
import traceback
from typing import Any

MAX_MESSAGE_BYTES = 1024 * 1024
# awslambdaric's C client (`runtime_client`) fixes its endpoint address, read from AWS_LAMBDA_RUNTIME_API, the
# first time it is initialised, once per process. It must therefore never be loaded in the zygote: preloading
# runs with it blocked, then every awslambdaric module is dropped so each child imports them (a few ms) with
# its own address and its own AWS_LAMBDA_LOG_FORMAT/LEVEL, which bootstrap reads at import. Their stdlib
# dependencies (logging, json, http.client, concurrent.futures...) stay preloaded.
PER_WORKER_MODULE_PREFIXES = ("awslambdaric", "runtime_client")
# With AWS_EXECUTION_ENV naming python3.12+, awslambdaric polls /next from a fresh ThreadPoolExecutor thread on
# every invocation, only so that Python signal handlers can run while it waits. Locally workers are only ever
# SIGKILLed, and that per-invoke thread measured p99 5.5-6.5 ms against 0.7-0.8 ms without it
# (bench/invoke_overhead.py, 2 cores): workers poll from the main thread, as awslambdaric does for python3.11
# and older. Handlers still see AWS_EXECUTION_ENV=AWS_Lambda_python3.12. Keep in step with SPAWN_BOOTSTRAP
# in launcher.py.
THREAD_POLLING = False
PR_SET_PDEATHSIG = 1
EXIT_CODE_CHILD_BOOT_FAILURE = 70


def _set_parent_death_signal(sig: int) -> None:
    """Linux only: the kernel sends `sig` to this process when its parent dies."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)


def _send(sock: socket.socket, message: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):
        sock.send(json.dumps(message).encode())


def _preload(modules: list[str]) -> tuple[list[str], dict[str, str]]:
    loaded: list[str] = []
    failed: dict[str, str] = {}
    sys.modules["runtime_client"] = None  # type: ignore[assignment]  # makes `import runtime_client` fail
    try:
        for name in modules:
            try:
                importlib.import_module(name)
                loaded.append(name)
            except BaseException as exc:  # a broken optional module must not stop the zygote
                failed[name] = f"{type(exc).__name__}: {exc}"
    finally:
        for name in [m for m in sys.modules if m.split(".")[0] in PER_WORKER_MODULE_PREFIXES]:
            del sys.modules[name]
    return loaded, failed


def _run_child(request: dict[str, Any], base_sys_path: list[str]) -> int:
    """In the forked child: become the function's sandbox and run awslambdaric's loop. Returns an exit code."""
    env: dict[str, str] = request["env"]
    os.environ.clear()
    os.environ.update(env)
    os.chdir(request["cwd"])
    sys.path[:] = [*request["sys_path"], *base_sys_path]
    sys.path_importer_cache.clear()
    importlib.invalidate_caches()
    _warn_about_shadowed_preloads(request["sys_path"])
    handler = request["handler"]
    sys.argv = ["awslambdaric", handler]

    from awslambdaric import bootstrap
    from awslambdaric.lambda_runtime_client import LambdaRuntimeClient

    # What `python -m awslambdaric` does, minus the per-invoke polling thread (see THREAD_POLLING).
    client = LambdaRuntimeClient(
        os.environ["AWS_LAMBDA_RUNTIME_API"], use_thread_for_polling_next=THREAD_POLLING
    )
    try:
        bootstrap.run(handler, client)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


def _warn_about_shadowed_preloads(function_paths: list[str]) -> None:
    """A package the function vendors (in its code or a layer) loses to the zygote's preloaded copy: say so.

    On AWS the vendored copy would win; swapping modules under already-imported libraries is not safe, so the
    fix is to run that function with --no-zygote or drop the package from the preload list.
    """
    preloaded = {name.split(".")[0] for name in sys.modules}
    for entry in function_paths:
        try:
            names = os.listdir(entry)
        except OSError:
            continue
        vendored = {n[:-3] if n.endswith(".py") else n for n in names}
        for name in sorted(vendored & preloaded):
            print(
                f"[WARNING] {os.path.join(entry, name)} is shadowed by the copy the zygote preloaded; "
                "use --no-zygote to import the vendored one",
                file=sys.stderr,
            )


class Zygote:
    def __init__(self, control: socket.socket, base_sys_path: list[str]) -> None:
        self.control = control
        self.base_sys_path = base_sys_path
        self.children: set[int] = set()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        os.set_blocking(self.wake_r, False)

    def serve(self) -> None:
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(self.wake_w)
        while True:
            readable, _, _ = select.select([self.control.fileno(), self.wake_r], [], [])
            if self.wake_r in readable:
                with contextlib.suppress(BlockingIOError):
                    os.read(self.wake_r, 4096)
                self._reap()
            if self.control.fileno() in readable:
                try:
                    data, fds, _flags, _addr = socket.recv_fds(self.control, MAX_MESSAGE_BYTES, 4)
                except ConnectionError:
                    data, fds = b"", []
                if not data:
                    self._shutdown()
                    return
                self._handle(json.loads(data), fds)
            self._reap()

    def _handle(self, message: dict[str, Any], fds: list[int]) -> None:
        kind = message.get("type")
        if kind == "spawn":
            self._spawn(message, fds)
        elif kind == "kill":
            pid = int(message["pid"])
            if pid in self.children:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
            for fd in fds:
                os.close(fd)
        else:
            for fd in fds:
                os.close(fd)

    def _spawn(self, request: dict[str, Any], fds: list[int]) -> None:
        if len(fds) != 1:
            for fd in fds:
                os.close(fd)
            _send(self.control, {"type": "spawn_failed", "req": request.get("req"), "error": "no log fd"})
            return
        log_fd = fds[0]
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError as exc:
            os.close(log_fd)
            _send(self.control, {"type": "spawn_failed", "req": request.get("req"), "error": str(exc)})
            return
        if pid == 0:
            code = EXIT_CODE_CHILD_BOOT_FAILURE
            try:
                self._become_worker(log_fd)
                code = _run_child(request, self.base_sys_path)
            except BaseException:
                traceback.print_exc()
            finally:
                with contextlib.suppress(Exception):
                    sys.stdout.flush()
                    sys.stderr.flush()
                os._exit(code)
        os.close(log_fd)
        self.children.add(pid)
        _send(self.control, {"type": "spawned", "req": request.get("req"), "pid": pid})

    def _become_worker(self, log_fd: int) -> None:
        os.setsid()  # own process group: a timeout kills the worker and anything it started
        _set_parent_death_signal(signal.SIGKILL)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        self.control.close()
        os.close(self.wake_r)
        os.close(self.wake_w)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(log_fd)
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, io.TextIOWrapper):
                stream.reconfigure(line_buffering=True)

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self.children.clear()
                return
            if pid == 0:
                return
            self.children.discard(pid)
            _send(
                self.control, {"type": "exited", "pid": pid, "returncode": os.waitstatus_to_exitcode(status)}
            )

    def _shutdown(self) -> None:
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        for pid in list(self.children):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        self.children.clear()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--preload", default="")
    args = parser.parse_args(argv)
    _set_parent_death_signal(signal.SIGKILL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides when we stop
    base_sys_path = [p for p in sys.path if p]
    loaded, failed = _preload([m for m in args.preload.split(",") if m])
    gc.collect()
    gc.freeze()
    control = socket.socket(fileno=args.control_fd)
    _send(
        control,
        {"type": "ready", "preloaded": loaded, "failed": failed, "threads": threading.active_count()},
    )
    Zygote(control, base_sys_path).serve()


if __name__ == "__main__":
    main(sys.argv[1:])
