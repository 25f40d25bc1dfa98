"""Invoking the completion and chat services: parameters → rendered messages → model → outputs.

The prompt (`parameters.prompt`) is the registry's prompt template; its messages are rendered with the
request's inputs, chat appends the conversation (`inputs.messages`, as Agenta sends it) after them, and
the answer is shaped as Agenta's services shape it: completion returns the text (parsed JSON under a JSON
response format, the tool calls when the model called tools), chat returns the assistant message.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from lamina.applications.prompt import Message
from lamina.errors import DependencyFailedError, LaminaError, ValidationFailedError
from lamina.services.rendering import render_messages
from lamina.services.schemas import (
    InvokeRequest,
    InvokeResponse,
    InvokeResponseData,
    ServiceKind,
    ServiceParameters,
)
from lamina.tenancy.principal import Principal

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
    from starlette.concurrency import run_in_threadpool

    from lamina.services.references import resolve_parameters

    key = (request.selector or {}).get("key")
    resolved = await run_in_threadpool(resolve_parameters, principal, request.references, key)
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


def _parse_json(call_model: str, content: str | None) -> Any:
    try:
        return json.loads(content or "")
    except ValueError as error:
        raise DependencyFailedError(
            f"{call_model}: asked for JSON, the model answered text that is not JSON: {str(content)[:200]!r}"
        ) from error


def shape_outputs(kind: ServiceKind, model: str, response: dict[str, Any], wants_json: bool) -> Any:
    choices = response.get("choices") or []
    if not choices:
        raise DependencyFailedError(f"{model}: the provider answered with no choices")
    message: dict[str, Any] = choices[0].get("message") or {}
    tool_calls = message.get("tool_calls") or None
    if kind == "chat":
        shaped = {"role": message.get("role") or "assistant", "content": message.get("content")}
        if tool_calls:
            shaped["tool_calls"] = tool_calls
        return shaped
    if tool_calls and not message.get("content"):
        return tool_calls
    if wants_json:
        return _parse_json(model, message.get("content"))
    return message.get("content") or message.get("refusal") or ""


def _strip_tool_calls(tool_calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"id": call.get("id"), "type": call.get("type") or "function", "function": call.get("function")}
        for call in tool_calls
    ]


async def invoke(
    kind: ServiceKind, request: InvokeRequest, principal: Principal, trace: TraceContext, *, local: bool
) -> InvokeResponse:
    from starlette.concurrency import run_in_threadpool

    from lamina.services.llm import RetrySettings, chat_completion
    from lamina.services.providers import needs_io, resolve_model_calls
    from lamina.services.tracing import InvocationSpan, export_span, tracing_enabled

    started_ns = time.time_ns()
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
    models = [config["model"] for config in llm_configs]
    if needs_io(project_id, models):
        calls = await run_in_threadpool(resolve_model_calls, project_id, models, local=local)
    else:  # a warm function's memory of the vault: no thread hop for a lookup
        calls = resolve_model_calls(project_id, models, local=local)
    retry = RetrySettings(
        max_retries=(
            prompt.retry_config.max_retries
            if prompt.retry_config and prompt.retry_config.max_retries is not None
            else RetrySettings.max_retries
        ),
        base_delay_s=(
            prompt.retry_config.base_delay / 1000
            if prompt.retry_config and prompt.retry_config.base_delay is not None
            else RetrySettings.base_delay_s
        ),
        retry_policy=prompt.retry_policy,
        fallback_policy=prompt.fallback_policy,
    )
    call, response = await chat_completion(calls, messages, llm_configs, retry)
    used_config = llm_configs[calls.index(call)]
    response_format = (used_config.get("response_format") or {}).get("type")
    outputs = shape_outputs(kind, call.requested, response, response_format in ("json_object", "json_schema"))
    if isinstance(outputs, list):
        outputs = _strip_tool_calls(outputs)
    elif isinstance(outputs, dict) and outputs.get("tool_calls"):
        outputs["tool_calls"] = _strip_tool_calls(outputs["tool_calls"])
    if tracing_enabled():
        span = InvocationSpan(
            trace_id=trace.trace_id,
            span_id=trace.span_id,
            parent_span_id=trace.parent_span_id,
            kind=kind,
            started_ns=started_ns,
            ended_ns=time.time_ns(),
            inputs=dict((request.data.inputs if request.data else None) or {}),
            outputs=outputs,
            model=call.requested,
            usage=response.get("usage") or {},
        )
        await run_in_threadpool(export_span, project_id, span)
    return InvokeResponse(
        trace_id=trace.trace_id, span_id=trace.span_id, data=InvokeResponseData(outputs=outputs)
    )
