"""Warm workers of one function and the concurrency slots they occupy.

A slot is taken by every live worker (idle, busy or still initialising) and by a caller that was granted a
cold start but has not yet registered its worker. Callers beyond the limit wait in FIFO order; a released
worker goes straight to the oldest waiter, and a freed slot lets the oldest waiter start a cold worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
from collections import deque
from dataclasses import dataclass, field

from lamina_local.lambda_runtime.launcher import WorkerProcess
from lamina_local.lambda_runtime.runtime_api import InvocationOutcome, RuntimeApiEndpoint
from lamina_local.model import FunctionSpec

STATUS_READ_BYTES = 4096  # VmHWM sits in the first ~1 KiB of /proc/<pid>/status


class PoolClosedError(RuntimeError):
    pass


@dataclass
class FunctionCounters:
    invocations: int = 0
    cold_starts: int = 0
    errors: int = 0  # every failed invocation, timeouts and crashes included (like the Errors metric)
    timeouts: int = 0


@dataclass(eq=False)
class Worker:
    """One sandbox: a process running awslambdaric and the Runtime API endpoint it talks to."""

    label: str  # "EchoFunction#3"
    generation: int  # the pool generation it was started for; `reload` retires older ones
    endpoint: RuntimeApiEndpoint
    process: WorkerProcess
    started_at: float = field(default_factory=time.perf_counter)
    init_duration_ms: float | None = None
    prewarmed: bool = False  # initialised eagerly (SnapStart); its first invocation is not a cold start

    _status_fd: int | None = field(default=None, repr=False)

    @property
    def alive(self) -> bool:
        return not self.process.exited.done()

    def max_memory_mb(self) -> int | None:
        """Peak resident set (VmHWM), REPORT's "Max Memory Used"; None where /proc is unavailable.

        The /proc file stays open: re-reading it from offset 0 regenerates it and costs a fraction of an open.
        """
        try:
            if self._status_fd is None:
                self._status_fd = os.open(f"/proc/{self.process.pid}/status", os.O_RDONLY)
            status = os.pread(self._status_fd, STATUS_READ_BYTES, 0)
        except OSError:
            return None
        start = status.find(b"VmHWM:")
        if start < 0:
            return None
        end = status.find(b"kB", start)
        try:
            return math.ceil(int(status[start + 6 : end]) / 1024)
        except ValueError:
            return None

    def release_resources(self) -> None:
        if self._status_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._status_fd)
            self._status_fd = None

    async def wait_initialised(self, timeout_s: float) -> InvocationOutcome | TimeoutError | None:
        """None once awslambdaric asked for its first event; its init error; or a TimeoutError."""
        initialised = self.endpoint.initialised
        await asyncio.wait(
            (initialised, self.process.exited), timeout=timeout_s, return_when="FIRST_COMPLETED"
        )
        self.init_duration_ms = (time.perf_counter() - self.started_at) * 1000
        if initialised.done() and not initialised.cancelled():
            return initialised.result()
        if self.process.exited.done():
            return InvocationOutcome(False, b"", "Runtime.ExitError")
        return TimeoutError(f"init did not finish within {timeout_s:.2f} s")


class FunctionPool:
    def __init__(self, spec: FunctionSpec, limit: int) -> None:
        self.spec = spec
        self.limit = limit
        self.counters = FunctionCounters()
        self.generation = 0
        self._members: set[Worker] = set()
        self._reserved = 0
        self._idle: deque[Worker] = deque()
        self._waiters: deque[asyncio.Future[Worker | None]] = deque()
        self._changed = asyncio.Event()
        self._closed = False

    @property
    def occupied(self) -> int:
        return len(self._members) + self._reserved

    @property
    def members(self) -> frozenset[Worker]:
        return frozenset(self._members)

    @property
    def idle_count(self) -> int:
        return len(self._idle)

    async def acquire(self) -> Worker | None:
        """An idle warm worker, or None: the caller owns a free slot and must start (or cancel) a worker."""
        if self._closed:
            raise PoolClosedError(self.spec.logical_id)
        while self._idle:
            worker = self._idle.pop()  # most recently used first: its caches are the warmest
            if worker.alive and worker.generation == self.generation:
                return worker
            self.remove(worker)
        if self.occupied < self.limit and not self._waiters:
            self._reserved += 1
            return None
        waiter: asyncio.Future[Worker | None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                granted = waiter.result()
                if granted is None:
                    self.cancel_reservation()
                else:
                    self.release(granted)
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    def try_reserve(self) -> bool:
        """Take a slot without waiting (eager SnapStart initialisation)."""
        if self._closed or self.occupied >= self.limit:
            return False
        self._reserved += 1
        return True

    def add(self, worker: Worker) -> None:
        """The worker started with a reserved slot now holds it."""
        self._reserved -= 1
        self._members.add(worker)
        self._changed.set()

    def cancel_reservation(self) -> None:
        self._reserved -= 1
        self._grant_slots()

    def release(self, worker: Worker) -> bool:
        """Give a worker back after an invocation. False: it must be retired (dead, or code reloaded)."""
        if worker not in self._members:
            return False
        if self._closed or not worker.alive or worker.generation != self.generation:
            self.remove(worker)
            return False
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(worker)
                return True
        self._idle.append(worker)
        return True

    def remove(self, worker: Worker) -> None:
        if worker not in self._members:
            return
        self._members.discard(worker)
        with contextlib.suppress(ValueError):
            self._idle.remove(worker)
        self._changed.set()
        self._grant_slots()

    def take_idle(self) -> list[Worker]:
        idle = list(self._idle)
        self._idle.clear()
        return idle

    async def wait_until_no_member(self, generation_below: int, timeout_s: float) -> bool:
        """Wait until every worker of an older generation has left; False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while any(w.generation < generation_below for w in self._members):
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=remaining)
        return True

    def close(self) -> None:
        self._closed = True
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(PoolClosedError(self.spec.logical_id))

    def _grant_slots(self) -> None:
        while self._waiters and self.occupied < self.limit and not self._closed:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._reserved += 1
                waiter.set_result(None)
