"""One chat completion through litellm: retries with exponential backoff, fallback models, and provider
failures mapped to 424 / 429 with the provider's own message.

litellm is imported here, on the first call that needs it (seconds of import; `health` and `inspect`
never pay it). Its own retry layers (litellm's `num_retries`, the OpenAI client's `max_retries`) are turned
off so that the policy below is the only one and its bounds hold.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, TypeVar

from lamina.errors import DependencyFailedError, LaminaError, RateLimitedError
from lamina.services.providers import ModelCall
from lamina.services.schemas import FallbackPolicy, RetryPolicy

logger = logging.getLogger(__name__)

DEFAULT_MAX_RETRIES = 2
DEFAULT_BASE_DELAY_S = 0.5
MAX_DELAY_S = 8.0
# litellm's per-request timeout (the HTTP API caps a call at 30 s anyway).
REQUEST_TIMEOUT_S = 25.0
# The provider-side parameters of `llm_config` passed to litellm as they are.
LLM_PARAMETERS = (
    "temperature",
    "max_tokens",
    "top_p",
    "frequency_penalty",
    "presence_penalty",
    "response_format",
    "tools",
    "tool_choice",
    "stop",
    "seed",
    "reasoning_effort",
)
AVAILABILITY_STATUSES = frozenset({500, 502, 503, 504, 529})
# What a streamed chunk's delta may carry that a client renders.
DELTA_FIELDS = ("role", "content", "tool_calls", "refusal")

Answer = TypeVar("Answer")


def litellm() -> ModuleType:
    """The litellm module, imported once per process with its network-on-import features off."""
    # Without this litellm fetches its model price map from GitHub while importing: seconds of a cold start,
    # and no answer at all where egress is closed. The copy bundled with the package is used instead.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm as module

    module.telemetry = False
    module.suppress_debug_info = True
    return module


@dataclass(frozen=True)
class RetrySettings:
    max_retries: int = DEFAULT_MAX_RETRIES
    base_delay_s: float = DEFAULT_BASE_DELAY_S
    retry_policy: RetryPolicy | None = None
    fallback_policy: FallbackPolicy | None = None


def status_of(error: BaseException) -> int | None:
    status = getattr(error, "status_code", None)
    if isinstance(status, int):
        return status
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _is_retryable(status: int | None, policy: RetryPolicy | None) -> bool:
    if policy == "off":
        return False
    if policy == "any":
        return True
    if policy == "availability":
        return status is None or status in AVAILABILITY_STATUSES
    # capacity / transient / unset: rate limits and provider-side failures.
    return status is None or status == 429 or status >= 500


def _may_fall_back(status: int | None, policy: FallbackPolicy | None) -> bool:
    if policy == "off":
        return False
    if policy in (None, "any", "context"):
        return True
    if status is None or status >= 500:
        return True
    if policy == "availability":
        return False
    if status == 429:
        return True
    return policy == "access" and status in (401, 403)


def _retry_after_s(error: BaseException) -> float | None:
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None)
    raw = headers.get("retry-after") if headers is not None else None
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def provider_error(call: ModelCall, error: BaseException) -> LaminaError:
    """The provider's refusal as a 429 (rate or quota limit) or 424 (anything else), with its message."""
    status = status_of(error)
    message = str(getattr(error, "message", None) or error)
    text = f"{call.requested}: the provider answered {status or 'with an error'}: {message}"
    details = {"model": call.requested, "provider": call.provider, "provider_status": status}
    if status == 429:
        return RateLimitedError(text, details=details)
    return DependencyFailedError(text, details=details)


def completion_arguments(call: ModelCall, llm_config: dict[str, Any]) -> dict[str, Any]:
    arguments = {name: llm_config[name] for name in LLM_PARAMETERS if llm_config.get(name) is not None}
    arguments.update(call.connection)
    arguments.update(model=call.litellm_model, timeout=REQUEST_TIMEOUT_S, num_retries=0, max_retries=0)
    return arguments


async def _call_once(call: ModelCall, messages: list[dict[str, Any]], llm_config: dict[str, Any]) -> Any:
    if call.is_mock:
        from lamina.services.mock import mock_completion

        return mock_completion(call.requested, messages, llm_config)
    module = litellm()
    arguments = completion_arguments(call, llm_config)
    if not llm_config.get("stream"):
        response = await module.acompletion(messages=messages, **arguments)
        return response.model_dump()
    # Streamed from the provider (its time-to-first-token budget, its chunked tool calls) and assembled
    # here: behind API Gateway's HTTP API a Lambda answer is one buffered body, so the caller gets it whole.
    stream = await module.acompletion(messages=messages, stream=True, **arguments)
    chunks = [chunk async for chunk in stream]
    assembled = module.stream_chunk_builder(chunks, messages=messages)
    if assembled is None:
        raise DependencyFailedError(f"{call.requested}: the provider streamed no chunks")
    return assembled.model_dump()


class ProviderStream:
    """A provider's answer as it streams: deltas for the client, then the assembled OpenAI-shaped answer.

    Opened only once its first chunk arrived, so a refused call (401, 429, ...) fails before the caller
    commits to a streamed 200 and is retried or falls back like any call.
    """

    def __init__(
        self,
        first: Any,
        rest: AsyncIterator[Any],
        assemble: Callable[[list[Any]], dict[str, Any]],
        call: ModelCall,
    ) -> None:
        self._first: Any = first
        self._rest = rest
        self._assemble = assemble
        self._chunks: list[Any] = []
        self.call = call

    async def deltas(self) -> AsyncIterator[dict[str, Any]]:
        """Each chunk's delta (what it adds to the message), as the provider sends them."""
        try:
            while True:
                if self._first is not None:
                    chunk, self._first = self._first, None
                else:
                    try:
                        chunk = await self._rest.__anext__()
                    except StopAsyncIteration:
                        return
                self._chunks.append(chunk)
                data = chunk if isinstance(chunk, dict) else chunk.model_dump()
                choices = data.get("choices") or [{}]
                delta = {
                    key: value
                    for key, value in (choices[0].get("delta") or {}).items()
                    if key in DELTA_FIELDS and value
                }
                if delta.get("content") or delta.get("tool_calls") or delta.get("refusal"):
                    yield delta
        except LaminaError:
            raise
        except Exception as error:  # the provider broke off mid-stream
            raise provider_error(self.call, error) from error

    def assembled(self) -> dict[str, Any]:
        """The whole answer, once `deltas` is exhausted."""
        answer = self._assemble(self._chunks)
        if not answer:
            raise DependencyFailedError(f"{self.call.requested}: the provider streamed no chunks")
        return answer


async def _mock_chunks(response: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    message = response["choices"][0]["message"]
    content = message.get("content") or ""
    words = content.split(" ") if content else []
    for index, word in enumerate(words):
        yield {"choices": [{"index": 0, "delta": {"content": word if index == 0 else f" {word}"}}]}
    if message.get("tool_calls"):
        calls = [{"index": index, **call} for index, call in enumerate(message["tool_calls"])]
        yield {"choices": [{"index": 0, "delta": {"tool_calls": calls}}]}


async def _open_stream_once(
    call: ModelCall, messages: list[dict[str, Any]], llm_config: dict[str, Any]
) -> ProviderStream:
    if call.is_mock:
        from lamina.services.mock import mock_completion

        response = mock_completion(call.requested, messages, llm_config)
        mock = _mock_chunks(response)
        first = await anext(mock, None)
        return ProviderStream(first, mock, lambda _: response, call)
    module = litellm()
    arguments = completion_arguments(call, llm_config)
    stream = await module.acompletion(messages=messages, stream=True, **arguments)
    iterator = stream.__aiter__()
    first = await anext(iterator, None)
    if first is None:
        raise DependencyFailedError(f"{call.requested}: the provider streamed no chunks")

    def assemble(chunks: list[Any]) -> dict[str, Any]:
        built = module.stream_chunk_builder(chunks, messages=messages)
        return built.model_dump() if built is not None else {}

    return ProviderStream(first, iterator, assemble, call)


async def _call_with_retries(
    call: ModelCall,
    messages: list[dict[str, Any]],
    llm_config: dict[str, Any],
    retry: RetrySettings,
    once: Callable[[ModelCall, list[dict[str, Any]], dict[str, Any]], Awaitable[Answer]],
) -> Answer:
    attempt = 0
    while True:
        try:
            return await once(call, messages, llm_config)
        except LaminaError:
            raise
        except Exception as error:
            status = status_of(error)
            if attempt >= retry.max_retries or not _is_retryable(status, retry.retry_policy):
                raise provider_error(call, error) from error
            delay = min(MAX_DELAY_S, retry.base_delay_s * 2**attempt)
            delay = min(MAX_DELAY_S, max(delay, _retry_after_s(error) or 0.0))
            logger.info(
                "provider call failed; retrying",
                extra={"model": call.requested, "status": status, "attempt": attempt + 1, "delay_s": delay},
            )
            await asyncio.sleep(delay)
            attempt += 1


async def chat_completion(
    calls: list[ModelCall],
    messages: list[dict[str, Any]],
    llm_configs: list[dict[str, Any]],
    retry: RetrySettings,
) -> tuple[ModelCall, dict[str, Any]]:
    """The first model (of the primary and its fallbacks) that answers, and its OpenAI-shaped response."""
    return await _first_answer(calls, messages, llm_configs, retry, _call_once)


async def open_stream(
    calls: list[ModelCall],
    messages: list[dict[str, Any]],
    llm_configs: list[dict[str, Any]],
    retry: RetrySettings,
) -> tuple[ModelCall, ProviderStream]:
    """The first model that starts streaming (retries and fallbacks as for `chat_completion`)."""
    return await _first_answer(calls, messages, llm_configs, retry, _open_stream_once)


async def _first_answer(
    calls: list[ModelCall],
    messages: list[dict[str, Any]],
    llm_configs: list[dict[str, Any]],
    retry: RetrySettings,
    once: Callable[[ModelCall, list[dict[str, Any]], dict[str, Any]], Awaitable[Answer]],
) -> tuple[ModelCall, Answer]:
    last: LaminaError | None = None
    for call, llm_config in zip(calls, llm_configs, strict=True):
        try:
            return call, await _call_with_retries(call, messages, llm_config, retry, once)
        except LaminaError as error:
            last = error
            status = (error.details or {}).get("provider_status") if isinstance(error.details, dict) else None
            if not isinstance(error, DependencyFailedError | RateLimitedError) or not _may_fall_back(
                status, retry.fallback_policy
            ):
                raise
    assert last is not None
    raise last


@dataclass(frozen=True)
class Usage:
    """What one provider call used: its tokens as the provider counted them, and their cost in USD from
    litellm's bundled price map (None for a model the map does not know)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    cost: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {name: value for name, value in self.__dict__.items() if value is not None}


def _count(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def usage_of(call: ModelCall, response: dict[str, Any]) -> Usage:
    """The provider's usage block of an OpenAI-shaped answer, priced."""
    raw = response.get("usage") or {}
    prompt, completion = _count(raw.get("prompt_tokens")), _count(raw.get("completion_tokens"))
    total = _count(raw.get("total_tokens"))
    if total is None and (prompt is not None or completion is not None):
        total = (prompt or 0) + (completion or 0)
    cost = None
    if not call.is_mock and (prompt or completion):
        from lamina.tracing.normalize import price

        # Priced as litellm was asked (`openai/gpt-4o-mini`), else as the prompt named it.
        cost = price(call.litellm_model, prompt or 0, completion or 0)
        if cost is None and call.requested != call.litellm_model:
            cost = price(call.requested, prompt or 0, completion or 0)
    return Usage(prompt, completion, total, cost)
