"""Invoking the completion and chat services: parameters → rendered messages → model → outputs.

The prompt (`parameters.prompt`) is the registry's prompt template; its messages are rendered with the
request's inputs, chat appends the conversation (`inputs.messages`, as Agenta sends it) after them, and
the answer is shaped as Agenta's services shape it: completion returns the text (parsed JSON under a JSON
response format, the tool calls when the model called tools), chat returns the assistant message.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from lamina.applications.prompt import Message
from lamina.errors import LaminaError, ValidationFailedError
from lamina.services.llm import RetrySettings, Usage
from lamina.services.providers import ModelCall
from lamina.services.rendering import render_messages
from lamina.services.schemas import (
    InvokeRequest,
    InvokeResponse,
    InvokeResponseData,
    ServiceKind,
    ServiceParameters,
    ServicePrompt,
)
from lamina.tenancy.principal import Principal

if TYPE_CHECKING:
    from lamina.services.tracing import InvocationSpan

Result = TypeVar("Result")

CONVERSATION_INPUT = "messages"
MAX_CONVERSATION_MESSAGES = 1000
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


class MissingParametersError(LaminaError):
    status_code = 400
    code = "missing_parameters"


@dataclass(frozen=True)
class TraceContext:
    trace_id: str
    span_id: str
    parent_span_id: str | None = None

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-01"


def trace_context(traceparent: str | None) -> TraceContext:
    """A new span, in the caller's trace when it sent a valid W3C `traceparent`, else in a new trace."""
    span_id = secrets.token_hex(8)
    match = _TRACEPARENT.match((traceparent or "").strip().lower())
    if match and set(match.group(1)) != {"0"}:
        return TraceContext(match.group(1), span_id, match.group(2))
    return TraceContext(secrets.token_hex(16), span_id)


def _invalid(error: ValidationError, base: str) -> ValidationFailedError:
    details = [
        {"loc": [base, *[str(part) for part in item["loc"]]], "msg": item["msg"], "type": item["type"]}
        for item in error.errors()
    ]
    first = details[0]
    return ValidationFailedError(f"{'.'.join(first['loc'])}: {first['msg']}", details=details)


def _validated_parameters(raw: dict[str, Any], where: str) -> ServiceParameters:
    try:
        return ServiceParameters.model_validate(raw)
    except ValidationError as error:
        raise _invalid(error, where) from error


async def service_parameters(request: InvokeRequest, principal: Principal) -> ServiceParameters:
    """Inline `data.parameters`, else those of the application revision `references` name."""
    data = request.data
    raw = data.parameters if data is not None else None
    if raw is not None:
        return _validated_parameters(raw, "data.parameters")
    if not request.references:
        raise MissingParametersError(
            "send data.parameters (a prompt: messages and llm_config) or references to an application"
        )
    from lamina.services.references import resolve_parameters

    key = (request.selector or {}).get("key")
    resolved = await run_blocking(resolve_parameters, principal, request.references, key)
    return _validated_parameters(resolved, "application_revision.data.parameters")


def conversation(inputs: dict[str, Any]) -> list[dict[str, Any]]:
    raw = inputs.get(CONVERSATION_INPUT) or []
    if not isinstance(raw, list) or len(raw) > MAX_CONVERSATION_MESSAGES:
        raise ValidationFailedError(
            f"data.inputs.messages: must be a list of at most {MAX_CONVERSATION_MESSAGES} messages"
        )
    messages = []
    for index, item in enumerate(raw):
        try:
            message = Message.model_validate(item)
        except ValidationError as error:
            raise _invalid(error, f"data.inputs.messages.{index}") from error
        messages.append(message.model_dump(mode="json", exclude_none=True))
    return messages


@dataclass(frozen=True)
class PreparedInvocation:
    """Everything an invocation needs before the provider is called: what to send, to whom, how to retry."""

    kind: ServiceKind
    project_id: uuid.UUID
    messages: list[dict[str, Any]]
    llm_configs: list[dict[str, Any]]
    calls: list[ModelCall]
    retry: RetrySettings

    def config_of(self, call: ModelCall) -> dict[str, Any]:
        return self.llm_configs[self.calls.index(call)]


def _retry_settings(prompt: ServicePrompt) -> RetrySettings:
    config = prompt.retry_config
    return RetrySettings(
        max_retries=(
            config.max_retries if config and config.max_retries is not None else RetrySettings.max_retries
        ),
        base_delay_s=(
            config.base_delay / 1000
            if config and config.base_delay is not None
            else RetrySettings.base_delay_s
        ),
        retry_policy=prompt.retry_policy,
        fallback_policy=prompt.fallback_policy,
    )


async def run_blocking(function: Callable[..., Result], /, *args: Any, **kwargs: Any) -> Result:
    """`function` on the event loop's default executor, with the caller's context (log correlation).

    Not starlette's `run_in_threadpool`: anyio ties its worker threads to the calling root task, and under
    Mangum every invocation is a new root task, so each hop would start (and later stop) a thread.
    """
    context = contextvars.copy_context()
    bound = functools.partial(context.run, function, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(None, bound)


async def prepare(
    kind: ServiceKind, request: InvokeRequest, principal: Principal, *, local: bool
) -> PreparedInvocation:
    """Parameters resolved, messages rendered, models resolved to providers and credentials."""
    from lamina.services.outputs import response_schema, schema_validator
    from lamina.services.providers import needs_io, resolve_model_calls

    project_id = principal.project_id
    parameters = await service_parameters(request, principal)
    prompt = parameters.prompt
    inputs = dict((request.data.inputs if request.data else None) or {})
    history = conversation(inputs) if kind == "chat" else []
    if kind == "chat":
        inputs.pop(CONVERSATION_INPUT, None)
    messages = render_messages(prompt.messages, prompt.template_format, inputs) + history
    llm_configs = [
        config.model_dump(mode="json", exclude_none=True, by_alias=True)
        for config in [prompt.llm_config, *(prompt.fallback_configs or [])]
    ]
    for config in llm_configs:  # a broken response schema is the prompt's error, found before any call
        schema = response_schema(config)
        if schema is not None:
            schema_validator(schema)
    models = [config["model"] for config in llm_configs]
    if needs_io(project_id, models):
        calls = await run_blocking(resolve_model_calls, project_id, models, local=local)
    else:  # a warm function's memory of the vault: no thread hop for a lookup
        calls = resolve_model_calls(project_id, models, local=local)
    return PreparedInvocation(kind, project_id, messages, llm_configs, calls, _retry_settings(prompt))


def _request_inputs(request: InvokeRequest) -> dict[str, Any]:
    return dict((request.data.inputs if request.data else None) or {})


def invocation_span(
    kind: ServiceKind,
    request: InvokeRequest,
    trace: TraceContext,
    started_ns: int,
    *,
    model: str | None,
    outputs: Any = None,
    usage: dict[str, Any] | None = None,
    error: BaseException | None = None,
) -> InvocationSpan:
    """The invocation's span: its outputs and usage, or the failure it answered."""
    from lamina.services.tracing import InvocationSpan

    failure = error if isinstance(error, LaminaError) else None
    return InvocationSpan(
        trace_id=trace.trace_id,
        span_id=trace.span_id,
        parent_span_id=trace.parent_span_id,
        kind=kind,
        started_ns=started_ns,
        ended_ns=time.time_ns(),
        inputs=_request_inputs(request),
        outputs=outputs,
        model=model,
        usage=usage or {},
        # An unexpected failure is traced without its text: that may hold what only the logs should.
        error=(failure.message if failure else "internal error") if error is not None else None,
        error_status=(failure.status_code if failure else 500) if error is not None else None,
        error_type=(failure.code if failure else "internal_error") if error is not None else None,
    )


async def record_span(project_id: uuid.UUID, span: InvocationSpan) -> None:
    """Hand the span to the trace ingest before the answer leaves (a failure to is logged, not raised)."""
    from lamina.services.tracing import export_span, tracing_enabled

    if tracing_enabled():
        await run_blocking(export_span, project_id, span)


@dataclass(frozen=True)
class Invocation:
    """An answered invocation and what its provider call used (the response itself carries no usage:
    Agenta's shape has none; the evaluations worker meters and aggregates it)."""

    response: InvokeResponse
    usage: Usage


async def invoke(
    kind: ServiceKind, request: InvokeRequest, principal: Principal, trace: TraceContext, *, local: bool
) -> InvokeResponse:
    """Run the service once; a failure raises its LaminaError after the failed span was traced too."""
    return (await invoke_measured(kind, request, principal, trace, local=local)).response


async def invoke_measured(
    kind: ServiceKind, request: InvokeRequest, principal: Principal, trace: TraceContext, *, local: bool
) -> Invocation:
    """`invoke`, with the provider's usage (tokens and cost) of the call that answered."""
    from lamina.services.llm import chat_completion, usage_of
    from lamina.services.outputs import shape_outputs

    started_ns = time.time_ns()
    model: str | None = None
    try:
        prepared = await prepare(kind, request, principal, local=local)
        model = prepared.calls[0].requested
        call, response = await chat_completion(
            prepared.calls, prepared.messages, prepared.llm_configs, prepared.retry
        )
        model = call.requested
        outputs = shape_outputs(kind, call.requested, response, prepared.config_of(call))
        usage = usage_of(call, response)
    except Exception as error:
        await record_span(
            principal.project_id, invocation_span(kind, request, trace, started_ns, model=model, error=error)
        )
        raise
    span = invocation_span(
        kind, request, trace, started_ns, model=model, outputs=outputs, usage=usage.as_dict()
    )
    await record_span(principal.project_id, span)
    response_body = InvokeResponse(
        trace_id=trace.trace_id, span_id=trace.span_id, data=InvokeResponseData(outputs=outputs)
    )
    return Invocation(response_body, usage)
