"""Where deliveries are sent from: one event loop per process, in a thread of its own, and one pooled session.

A delivery spends nearly all of its time waiting on the receiver, so a batch's requests go out concurrently
on one asyncio event loop through one keep-alive aiohttp session (SSRF-guarded and pinned, see
`lamina.outbound_async`), instead of on a pool of threads that contend for the GIL and for httpcore's pool
lock. (Not httpx's AsyncClient: see `lamina.outbound_async` for what it cost.)

Why a loop in a thread rather than `asyncio.run` per invocation: the Lambda handler is synchronous
(awslambdaric calls it on its own thread), and a session's connections belong to the loop that opened
them. A loop per invocation would close every keep-alive connection (and its TLS session) after each batch;
this loop lives as long as the process, so the session and its connections are reused across invocations.
The loop runs in a daemon thread rather than being driven with `run_until_complete` by the caller, so any
thread may submit to it, even two at once (the API's `test` endpoint runs on the server's threadpool).
Between invocations Lambda freezes the whole process, the loop's thread with it; the caller's thread just
waits on the batch's future meanwhile, so the two never compete for the GIL.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import threading
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import aiohttp

    from lamina.queues.envelope import Envelope
    from lamina.webhooks.breaker import Admission
    from lamina.webhooks.delivery import DeliveryCommand, Outcome, Step, Target

T = TypeVar("T")

# Requests of one batch in flight at once. A batch (the template's BatchSize) may be larger: its requests then
# go out in waves. More at once did not help against a single-process receiver, and is more than a customer's
# endpoint should get from each of the function's instances.
WEBHOOK_BATCH_CONCURRENCY = 10

_loop: asyncio.AbstractEventLoop | None = None
_loop_pid = 0
_loop_lock = threading.Lock()
# The sessions made on the loop: the current settings' one in use, the ones before it closed when it was made
# (settings are replaced only at start-up and in tests), the last closed at exit.
_sessions: list[aiohttp.ClientSession] = []


def _event_loop() -> asyncio.AbstractEventLoop:
    """The process's sending loop, started on first use (and again in a forked child, which has no thread)."""
    global _loop, _loop_pid
    with _loop_lock:
        if _loop is None or _loop_pid != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="webhook-sender", daemon=True).start()
            _loop, _loop_pid = loop, os.getpid()
            _sessions.clear()  # a forked child's copies belong to its parent's loop
            atexit.register(_close_sessions)
        return _loop


def _close_sessions() -> None:
    """Close the sessions at exit (the loop's thread, a daemon, still runs then): no unclosed-session noise."""
    if _loop is None or _loop_pid != os.getpid() or not _sessions:
        return
    with contextlib.suppress(Exception):  # exiting anyway
        run(_close_all(len(_sessions)))


async def _close_all(count: int) -> None:
    for session in _sessions[:count]:
        await session.close()
    del _sessions[:count]


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` on the sending loop and wait for its result (from any thread but the loop's own)."""
    return asyncio.run_coroutine_threadsafe(coroutine, _event_loop()).result()


def webhook_session() -> aiohttp.ClientSession:
    """The process's session for deliveries: guarded, pinned, pooled, kept alive between invocations.

    Created on, and used only from, the sending loop (its connections belong to it); rebuilt with the settings.
    """
    from lamina.state import current

    async def create() -> aiohttp.ClientSession:
        import aiohttp

        from lamina.outbound_async import outbound_session

        seconds = current().settings.webhook_timeout_s
        await _close_all(len(_sessions))
        session = outbound_session(
            timeout=aiohttp.ClientTimeout(total=seconds), max_connections=WEBHOOK_BATCH_CONCURRENCY * 2
        )
        _sessions.append(session)
        return session

    session: aiohttp.ClientSession = current().memo("webhooks:session", lambda: run(create()))
    return session


def deliver_batch(
    deliveries: list[tuple[Envelope, Target | None, Admission | None]], *, must_end_by: float
) -> list[Step]:
    """Perform each delivery (`delivery.perform`) concurrently on the sending loop; their steps, in order.

    None starts a request that could end after `must_end_by` (`time.monotonic()`): with a batch larger than
    the concurrency, requests go out in waves, and receivers that hang to their timeout must not make the
    invocation outlive the function's timeout (the whole batch would then run again)."""
    from lamina.settings import get_settings
    from lamina.webhooks.delivery import perform

    session = webhook_session()
    deadline_s = get_settings().webhook_timeout_s

    async def all_of_them() -> list[Step]:
        # Waiting for a slot is not counted against a delivery's deadline: its clock starts when it sends.
        slots = asyncio.Semaphore(WEBHOOK_BATCH_CONCURRENCY)

        async def one(envelope: Envelope, target: Target | None, admission: Admission | None) -> Step:
            async with slots:
                return await perform(
                    envelope, target, session, admission, deadline_s=deadline_s, must_end_by=must_end_by
                )

        return list(await asyncio.gather(*(one(*delivery) for delivery in deliveries)))

    if not deliveries:
        return []
    return run(all_of_them())


def send_now(target: Target, command: DeliveryCommand) -> Outcome:
    """Send one delivery now and wait for its outcome (the `test` endpoint)."""
    from lamina.settings import get_settings
    from lamina.webhooks.delivery import send

    return run(send(webhook_session(), target, command, deadline_s=get_settings().webhook_timeout_s))
