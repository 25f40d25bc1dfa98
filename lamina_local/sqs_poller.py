"""SQS event-source mappings, run by `lamina up` itself against the emulator's SQS API.

moto's own event-source mappings are never used (without Docker it deletes messages without running
anything). Here, like Lambda's pollers: long-poll the queue, assemble batches (batch size, batching window),
invoke the function with the SQS event, then delete what succeeded. Failed messages are left alone: SQS makes
them visible again after the visibility timeout and its redrive policy moves them to the DLQ after
`maxReceiveCount` receives (moto implements the redrive on receive; the integration test checks it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from lamina_local.events import DEFAULT_REGION, sqs_event
from lamina_local.invoker import Invoker
from lamina_local.model import QueueSpec, SqsMapping

logger = logging.getLogger(__name__)

SQS_MAX_MESSAGES_PER_RECEIVE = 10
# Short long-polls: still one request per second per idle poller, but shutdown never waits long.
DEFAULT_WAIT_TIME_S = 1
DEFAULT_MAX_POLLERS = 5
QUEUE_LOOKUP_ATTEMPTS = 20
QUEUE_LOOKUP_DELAY_S = 0.25
ERROR_BACKOFF_S = 1.0
STOP_GRACE_S = 5.0

LogSink = Callable[[str], None]


_session: Any = None


def _shared_session() -> Any:
    """One aiobotocore session for every mapping: it caches the SQS service model, loaded once."""
    global _session
    if _session is None:
        _session = get_session()
    return _session


@dataclass
class MappingStats:
    batches: int = 0
    messages: int = 0
    failures: int = 0  # messages left on the queue after an invocation (function error or reported failure)
    deleted: int = 0
    invoke_errors: int = 0
    pollers: int = 0
    peak_pollers: int = 0


def failed_message_ids(payload: bytes, message_ids: list[str]) -> set[str]:
    """The messages to keep after a successful invocation with ReportBatchItemFailures, Lambda's rules.

    An empty/null response or an empty list means all succeeded; anything malformed (not an object, an
    item without a known `itemIdentifier`) fails the whole batch.
    """
    everything = set(message_ids)
    try:
        response = json.loads(payload) if payload.strip() else None
    except ValueError:
        return everything
    if response is None or response == {}:
        return set()
    if not isinstance(response, dict):
        return everything
    failures = response.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return everything
    kept: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in everything:
            return everything
        kept.add(identifier)
    return kept


class SqsEventSource:
    """One event-source mapping: pollers that feed `queue` to `mapping.function`. `start()` / `stop()`."""

    def __init__(
        self,
        mapping: SqsMapping,
        queue: QueueSpec,
        invoker: Invoker,
        *,
        endpoint_url: str,
        region: str = DEFAULT_REGION,
        credentials: tuple[str, str] = ("testing", "testing"),
        wait_time_s: int = DEFAULT_WAIT_TIME_S,
        max_pollers: int = DEFAULT_MAX_POLLERS,
        on_log: LogSink | None = None,
    ) -> None:
        self.mapping = mapping
        self.queue = queue
        self.invoker = invoker
        self.endpoint_url = endpoint_url
        self.region = region
        self.credentials = credentials
        self.wait_time_s = wait_time_s
        # FIFO order holds only with a single consumer; standard queues scale like Lambda's pollers.
        limit = mapping.maximum_concurrency or max_pollers
        self.max_pollers = 1 if queue.fifo else max(1, limit)
        self.on_log = on_log
        self.stats = MappingStats()
        self.queue_url = ""
        self.queue_arn = ""
        self._client: Any = None
        self._client_context: contextlib.AsyncExitStack | None = None
        self._pollers: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()

    @property
    def name(self) -> str:
        return f"{self.queue.logical_id}->{self.mapping.function}"

    def _log(self, message: str) -> None:
        line = f"[sqs {self.name}] {message}"
        if self.on_log is not None:
            self.on_log(line)
        else:
            logger.info(line)

    async def start(self) -> None:
        if not self.mapping.enabled:
            self._log("mapping disabled")
            return
        self._client_context = contextlib.AsyncExitStack()
        self._client = await self._client_context.enter_async_context(
            _shared_session().create_client(
                "sqs",
                endpoint_url=self.endpoint_url,
                region_name=self.region,
                aws_access_key_id=self.credentials[0],
                aws_secret_access_key=self.credentials[1],
                config=AioConfig(max_pool_connections=self.max_pollers + 2, retries={"max_attempts": 2}),
            )
        )
        await self._resolve_queue()
        self._spawn_poller()

    async def _resolve_queue(self) -> None:
        for attempt in range(QUEUE_LOOKUP_ATTEMPTS):
            try:
                self.queue_url = (await self._client.get_queue_url(QueueName=self.queue.name))["QueueUrl"]
                attributes = await self._client.get_queue_attributes(
                    QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
                )
                self.queue_arn = attributes["Attributes"]["QueueArn"]
                return
            except Exception:
                # The queue may still be being provisioned when the pollers start.
                if attempt == QUEUE_LOOKUP_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(QUEUE_LOOKUP_DELAY_S)

    async def stop(self) -> None:
        self._stopping.set()
        if self._pollers:
            # Pollers finish their current long poll and batch; a stuck one is cancelled.
            _, pending = await asyncio.wait(set(self._pollers), timeout=self.wait_time_s + STOP_GRACE_S)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._client_context is not None:
            await self._client_context.aclose()
            self._client_context = None

    def _spawn_poller(self) -> None:
        task = asyncio.create_task(self._poll_forever(), name=f"sqs-poller-{self.name}")
        self._pollers.add(task)
        self.stats.pollers = len(self._pollers)
        self.stats.peak_pollers = max(self.stats.peak_pollers, self.stats.pollers)
        task.add_done_callback(self._poller_done)

    def _poller_done(self, task: asyncio.Task[None]) -> None:
        self._pollers.discard(task)
        self.stats.pollers = len(self._pollers)
        if not task.cancelled() and task.exception() is not None:
            self._log(f"poller crashed: {task.exception()!r}")

    async def _poll_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                batch, saturated = await self._collect_batch()
            except Exception as exc:
                self._log(f"receive failed: {exc!r}")
                await asyncio.sleep(ERROR_BACKOFF_S)
                continue
            if not batch:
                # Scale in: the first poller stays, extra ones leave when the queue runs dry.
                if len(self._pollers) > 1:
                    return
                continue
            if saturated and len(self._pollers) < self.max_pollers and not self._stopping.is_set():
                self._spawn_poller()
            await self._process(batch)

    async def _receive(self, wait_time_s: int, wanted: int) -> list[dict[str, Any]]:
        response = await self._client.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(SQS_MAX_MESSAGES_PER_RECEIVE, wanted),
            WaitTimeSeconds=wait_time_s,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        return messages

    async def _collect_batch(self) -> tuple[list[dict[str, Any]], bool]:
        """A batch of up to `batch_size` messages, topped up within the batching window.

        Also says whether the queue looked saturated (a receive came back full), the cue to add a poller.
        """
        batch_size = self.mapping.batch_size
        first = await self._receive(self.wait_time_s, batch_size)
        if not first:
            return [], False
        batch = list(first)
        saturated = len(first) >= min(SQS_MAX_MESSAGES_PER_RECEIVE, batch_size)
        deadline = time.monotonic() + self.mapping.max_batching_window_s
        while len(batch) < batch_size and not self._stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            more = await self._receive(min(self.wait_time_s, max(1, int(remaining))), batch_size - len(batch))
            batch.extend(more)
            saturated = saturated or len(more) >= SQS_MAX_MESSAGES_PER_RECEIVE
        return batch, saturated

    async def _process(self, batch: list[dict[str, Any]]) -> None:
        event = sqs_event(batch, queue_arn=self.queue_arn, region=self.region)
        message_ids = [message["MessageId"] for message in batch]
        self.stats.batches += 1
        self.stats.messages += len(batch)
        try:
            result = await self.invoker.invoke(self.mapping.function, event)
        except Exception as exc:
            self.stats.invoke_errors += 1
            self.stats.failures += len(batch)
            self._log(f"invoke raised {exc!r}; {len(batch)} message(s) return after the visibility timeout")
            return
        if not result.ok:
            self.stats.failures += len(batch)
            self._log(
                f"{result.error_type} on a batch of {len(batch)} ({result.request_id}); "
                "messages return after the visibility timeout"
            )
            return
        keep: set[str] = set()
        if self.mapping.report_batch_item_failures:
            keep = failed_message_ids(result.payload, message_ids)
            if keep:
                self.stats.failures += len(keep)
                self._log(f"{len(keep)}/{len(batch)} reported as failed ({result.request_id})")
        await self._delete([message for message in batch if message["MessageId"] not in keep])

    async def _delete(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), SQS_MAX_MESSAGES_PER_RECEIVE):
            chunk = messages[start : start + SQS_MAX_MESSAGES_PER_RECEIVE]
            entries = [
                {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                for index, message in enumerate(chunk)
            ]
            try:
                response = await self._client.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
            except Exception as exc:
                self._log(f"delete failed: {exc!r}; {len(chunk)} message(s) may be redelivered")
                continue
            self.stats.deleted += len(response.get("Successful", []))
            for failed in response.get("Failed", []):
                self._log(f"delete failed for one message: {failed.get('Code')} {failed.get('Message')}")


class SqsPollers:
    """All event-source mappings of a stack, started and stopped together."""

    def __init__(self, sources: list[SqsEventSource]) -> None:
        self.sources = sources

    @classmethod
    def for_stack(
        cls,
        mappings: list[SqsMapping],
        queues: dict[str, QueueSpec],
        invoker: Invoker,
        *,
        endpoint_url: str,
        region: str = DEFAULT_REGION,
        on_log: LogSink | None = None,
    ) -> SqsPollers:
        return cls(
            [
                SqsEventSource(
                    mapping,
                    queues[mapping.queue],
                    invoker,
                    endpoint_url=endpoint_url,
                    region=region,
                    on_log=on_log,
                )
                for mapping in mappings
            ]
        )

    async def start(self) -> None:
        await asyncio.gather(*(source.start() for source in self.sources))

    async def stop(self) -> None:
        await asyncio.gather(*(source.stop() for source in self.sources))

    def stats(self) -> dict[str, MappingStats]:
        return {source.name: source.stats for source in self.sources}
