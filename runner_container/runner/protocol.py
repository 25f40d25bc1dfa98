"""What `POST /run` accepts, and the event lines a harness and the runner speak (NDJSON, one object a line).

Harness → runner (stdout): `message.delta`, `message`, `tool.call`, `tool.result`, `tool.relay` (run this
server-side tool for me; the answer comes back on stdin as a `tool.result` line), `interaction.request`,
`usage`, `error`, `done`. Runner → client: the same, plus `turn.started`, `workspace.restored`, `file`
(a checkpoint uploaded or deleted it), then `done` and one `result` line.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_STEPS = 50
DEFAULT_STEPS = 8
MAX_TIMEOUT_S = 3600.0
# Environment variable names a caller may declare for the harness: model credentials, not PATH tricks.
ENV_NAME_PATTERN = r"^[A-Z][A-Z0-9_]{0,63}$"
RESERVED_ENV = frozenset({"PATH", "HOME", "PYTHONPATH", "LD_PRELOAD", "LD_LIBRARY_PATH", "PYTHONHOME"})
WORKSPACE_TOOLS = frozenset({"read_file", "write_file", "list_files", "delete_file"})


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelConnection(Strict):
    """The model the harness calls and the only credentials it receives (as environment variables)."""

    model: str = Field(default="mock/echo", min_length=1, max_length=300)
    api_base: str | None = Field(default=None, max_length=2000)
    api_key: str | None = Field(default=None, max_length=4000, repr=False)
    api_version: str | None = Field(default=None, max_length=100)
    # Extra credentials a CLI agent reads from its environment (e.g. ANTHROPIC_API_KEY).
    env: dict[str, str] = Field(default_factory=dict, repr=False)

    def public(self) -> dict[str, Any]:
        """The connection without its secrets, fit for records."""
        return {"model": self.model, "api_base": self.api_base, "api_version": self.api_version}


class HarnessSpec(Strict):
    kind: Literal["agent", "command"] = "agent"
    # For `command`: the CLI agent and its arguments, run in the workspace.
    command: list[str] = Field(default_factory=list, max_length=100)
    max_steps: int = Field(default=DEFAULT_STEPS, ge=1, le=MAX_STEPS)
    # The first step's tool_choice ("auto", "required", {"type": "function", "function": {"name": ...}}).
    tool_choice: Any = "auto"
    timeout_s: float | None = Field(default=None, gt=0, le=MAX_TIMEOUT_S)
    memory_mb: int | None = Field(default=None, ge=64, le=65536)


class ToolSpec(BaseModel):
    """An OpenAI function tool plus where it runs and whether a person must approve each call."""

    model_config = ConfigDict(extra="allow")

    type: Literal["function"] = "function"
    function: dict[str, Any]
    # workspace: the harness runs it in the workspace; server: relayed to the API's tool call-back;
    # None: workspace for the built-in file tools, else server.
    execution: Literal["workspace", "server"] | None = None
    requires_approval: bool = False


class ToolCallback(Strict):
    url: str = Field(min_length=1, max_length=2000)


class Resume(Strict):
    """The answer to the interaction a previous turn paused on."""

    interaction_id: str = Field(min_length=1, max_length=100)
    tool_call_id: str | None = Field(default=None, max_length=200)
    kind: Literal["user_approval", "user_input"] = "user_approval"
    verdict: Literal["approved", "denied"] | None = None
    answer: Any = None


class RunRequest(Strict):
    session_id: uuid.UUID
    project_id: uuid.UUID
    turn_id: uuid.UUID | None = None
    turn_index: int = Field(default=0, ge=0)
    harness: HarnessSpec = Field(default_factory=HarnessSpec)
    model: ModelConnection = Field(default_factory=ModelConnection)
    messages: list[dict[str, Any]] = Field(default_factory=list, max_length=10_000)
    system_prompt: str | None = None
    tools: list[ToolSpec] = Field(default_factory=list, max_length=200)
    tool_callback: ToolCallback | None = None
    resume: Resume | None = None

    def spec(self) -> dict[str, Any]:
        """What a later turn needs to continue this session, without any credential."""
        return {
            "harness": self.harness.model_dump(mode="json"),
            "model": self.model.public(),
            "system_prompt": self.system_prompt,
            "tools": [tool.model_dump(mode="json") for tool in self.tools],
            "tool_callback": self.tool_callback.model_dump() if self.tool_callback else None,
        }

    def harness_input(self) -> dict[str, Any]:
        """The first line the harness reads on stdin (credentials travel in its environment instead)."""
        return {
            "session_id": str(self.session_id),
            "harness": self.harness.model_dump(mode="json"),
            "model": self.model.public(),
            "messages": self.messages,
            "system_prompt": self.system_prompt,
            "tools": [tool.model_dump(mode="json") for tool in self.tools],
            "resume": self.resume.model_dump(mode="json") if self.resume else None,
        }


class KillRequest(Strict):
    session_id: uuid.UUID
