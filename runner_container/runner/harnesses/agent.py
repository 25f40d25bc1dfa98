"""The built-in agent harness: a tool-calling loop over litellm (or the key-less `mock/` provider).

Run by the runner as `python -m runner.harnesses.agent` inside the sandbox, with the workspace as its working
directory. Reads the turn (messages, tools, model) as one JSON line on stdin, writes events on stdout, and
asks the runner for server-side tool results by writing `tool.relay` and reading a `tool.result` line.
A tool that needs approval, and `ask_user`, pause the turn: the runner ends it with the interaction pending,
and the next turn (resumed with the answer) picks up at that tool call.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

WORKSPACE_TOOLS = frozenset({"read_file", "write_file", "list_files", "delete_file"})
ASK_USER = "ask_user"
MAX_READ_BYTES = 256 * 1024
API_KEY_ENV = "LAMINA_MODEL_API_KEY"


def emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event, default=str) + "\n")
    sys.stdout.flush()


def _inside(path: str) -> Path:
    root = Path.cwd().resolve()
    target = (root / path).resolve()
    if target != root and root not in target.parents:
        raise ValueError(f"{path!r} is outside the workspace")
    return target


def run_workspace_tool(name: str, arguments: dict[str, Any]) -> str:
    if name == "write_file":
        target = _inside(str(arguments["path"]))
        target.parent.mkdir(parents=True, exist_ok=True)
        content = str(arguments.get("content", ""))
        target.write_text(content)
        return f"wrote {len(content.encode())} bytes to {arguments['path']}"
    if name == "read_file":
        return _inside(str(arguments["path"])).read_bytes()[:MAX_READ_BYTES].decode(errors="replace")
    if name == "delete_file":
        _inside(str(arguments["path"])).unlink()
        return f"deleted {arguments['path']}"
    if name == "list_files":
        base = _inside(str(arguments.get("path") or "."))
        return "\n".join(sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file()))
    raise ValueError(f"unknown workspace tool {name!r}")


def relay(call_id: str, name: str, arguments: dict[str, Any]) -> str:
    emit({"type": "tool.relay", "tool_call_id": call_id, "name": name, "arguments": arguments})
    line = sys.stdin.readline()
    if not line:
        raise RuntimeError("the runner closed the tool channel")
    answer = json.loads(line)
    return str(answer.get("content", ""))


def execute(tools: dict[str, dict[str, Any]], call_id: str, name: str, arguments: dict[str, Any]) -> str:
    spec = tools.get(name) or {}
    where = spec.get("execution") or ("workspace" if name in WORKSPACE_TOOLS else "server")
    try:
        if where == "workspace":
            return run_workspace_tool(name, arguments)
        return relay(call_id, name, arguments)
    except Exception as error:  # a failing tool is an answer for the model, not the end of the turn
        return f"error: {error}"


def complete(
    model: dict[str, Any], messages: list[dict[str, Any]], tools: list[dict[str, Any]], choice: Any
) -> Any:
    name = str(model.get("model") or "mock/echo")
    functions = [{"type": "function", "function": tool["function"]} for tool in tools]
    if name.startswith("mock/"):
        from lamina.services.mock import mock_completion

        config: dict[str, Any] = {"tools": functions, "tool_choice": choice} if functions else {}
        return mock_completion(name, messages, config)
    import litellm

    kwargs: dict[str, Any] = {"model": name, "messages": messages}
    if functions:
        kwargs["tools"] = functions
        kwargs["tool_choice"] = choice
    for key in ("api_base", "api_version"):
        if model.get(key):
            kwargs[key] = model[key]
    if os.environ.get(API_KEY_ENV):
        kwargs["api_key"] = os.environ[API_KEY_ENV]
    # Streamed, so the client sees the answer as it is written; the chunks are then assembled into the
    # same response (tool calls and usage included) the loop would have had without streaming.
    chunks = []
    for chunk in litellm.completion(**kwargs, stream=True, stream_options={"include_usage": True}):
        chunks.append(chunk)
        text = chunk.choices[0].delta.content if chunk.choices else None
        if text:
            emit({"type": "message.delta", "text": text})
    built = litellm.stream_chunk_builder(chunks, messages=messages)
    response: dict[str, Any] = built.model_dump()
    response["streamed"] = True
    return response


def _arguments(call: dict[str, Any]) -> dict[str, Any]:
    raw = call["function"].get("arguments") or "{}"
    try:
        parsed = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def resume_pending(
    turn: dict[str, Any], tools: dict[str, dict[str, Any]], messages: list[dict[str, Any]]
) -> None:
    """Answer the tool call the previous turn paused on, then any call of that message left unanswered."""
    resume = turn["resume"]
    answered = {m.get("tool_call_id") for m in messages if m.get("role") == "tool"}
    pending = next(
        (m for m in reversed(messages) if m.get("role") == "assistant" and m.get("tool_calls")), None
    )
    for call in (pending or {}).get("tool_calls") or []:
        if call["id"] in answered:
            continue
        name = call["function"]["name"]
        if call["id"] != resume.get("tool_call_id"):
            content = "not run: the turn paused before this call"
        elif resume.get("kind") == "user_input":
            content = (
                json.dumps(resume.get("answer"))
                if not isinstance(resume.get("answer"), str)
                else resume["answer"]
            )
        elif resume.get("verdict") == "approved":
            content = execute(tools, call["id"], name, _arguments(call))
        else:
            content = "denied: the user did not approve this call"
        messages.append({"role": "tool", "tool_call_id": call["id"], "content": content})
        emit({"type": "tool.result", "tool_call_id": call["id"], "name": name, "content": content})


def main() -> None:
    turn = json.loads(sys.stdin.readline())
    harness = turn.get("harness") or {}
    tools_list: list[dict[str, Any]] = turn.get("tools") or []
    tools = {tool["function"]["name"]: tool for tool in tools_list}
    messages: list[dict[str, Any]] = list(turn.get("messages") or [])
    if turn.get("system_prompt") and not any(m.get("role") == "system" for m in messages):
        messages.insert(0, {"role": "system", "content": turn["system_prompt"]})
    if turn.get("resume"):
        resume_pending(turn, tools, messages)
    for step in range(int(harness.get("max_steps") or 8)):
        choice = harness.get("tool_choice", "auto") if step == 0 and not turn.get("resume") else "auto"
        response = complete(turn.get("model") or {}, messages, tools_list, choice)
        if response.get("usage"):
            emit({"type": "usage", **{k: v for k, v in response["usage"].items() if isinstance(v, int)}})
        raw = response["choices"][0]["message"]
        message = {"role": "assistant", "content": raw.get("content")}
        if raw.get("tool_calls"):
            message["tool_calls"] = raw["tool_calls"]
        messages.append(message)
        if message["content"] and not response.get("streamed"):
            emit({"type": "message.delta", "text": message["content"]})
        emit({"type": "message", "message": message})
        if not raw.get("tool_calls"):
            emit({"type": "done", "status": "completed", "messages": messages})
            return
        for call in raw["tool_calls"]:
            name, arguments = call["function"]["name"], _arguments(call)
            emit({"type": "tool.call", "tool_call_id": call["id"], "name": name, "arguments": arguments})
            if name == ASK_USER or (tools.get(name) or {}).get("requires_approval"):
                emit(
                    {
                        "type": "interaction.request",
                        "interaction_id": str(uuid.uuid4()),
                        "kind": "user_input" if name == ASK_USER else "user_approval",
                        "tool_call_id": call["id"],
                        "tool": name,
                        "args": arguments,
                    }
                )
                emit({"type": "done", "status": "paused", "messages": messages})
                return
            content = execute(tools, call["id"], name, arguments)
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": content})
            emit({"type": "tool.result", "tool_call_id": call["id"], "name": name, "content": content})
    emit({"type": "done", "status": "completed", "messages": messages, "reason": "max_steps"})


if __name__ == "__main__":
    try:
        main()
    except Exception as error:
        emit({"type": "error", "message": f"{type(error).__name__}: {error}"})
        emit({"type": "done", "status": "failed"})
        sys.exit(1)
