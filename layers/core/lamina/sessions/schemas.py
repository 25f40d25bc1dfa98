"""Request bodies and response shapes of `/api/sessions/…`, after Agenta's SDK (`agenta/_client/sessions`)."""

# No `from __future__ import annotations` here: pydantic would compile and evaluate each field's annotation
# string when the class is made, at the API function's cold start (see lamina.api.schemas.Model).

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import ConfigDict, Field

from lamina.api.schemas import Body, View, Windowing

if TYPE_CHECKING:
    from lamina.sessions.models import AgentSession, SessionInteraction, SessionRecord, SessionTurn

SessionStatus = Literal["running", "paused", "completed", "failed", "killed"]
InteractionKind = Literal["user_approval", "user_input", "client_tool"]
InteractionStatus = Literal["pending", "responded", "resolved", "cancelled"]


# ---------------------------------------------------------------- requests


class SessionPredicates(Body):
    model_config = ConfigDict(extra="ignore", defer_build=True)
    status: SessionStatus | None = None


class SessionsQuery(Body):
    model_config = ConfigDict(extra="ignore", defer_build=True)
    session: SessionPredicates | None = None
    session_ids: list[uuid.UUID] | None = None
    windowing: Windowing | None = None


class TurnQuery(Body):
    model_config = ConfigDict(extra="ignore", defer_build=True)
    session_id: uuid.UUID | None = None


class TurnsQuery(Body):
    model_config = ConfigDict(extra="ignore", defer_build=True)
    query: TurnQuery | None = None
    windowing: Windowing | None = None


class RecordsQuery(Body):
    session_id: uuid.UUID
    turn_id: uuid.UUID | None = None
    windowing: Windowing | None = None


class InteractionQuery(Body):
    model_config = ConfigDict(extra="ignore", defer_build=True)
    session_id: uuid.UUID | None = None
    turn_id: uuid.UUID | None = None
    kind: InteractionKind | None = None
    status: InteractionStatus | None = None


class InteractionsQuery(Body):
    model_config = ConfigDict(extra="ignore", defer_build=True)
    query: InteractionQuery | None = None
    windowing: Windowing | None = None


class InteractionAnswer(Body):
    """The verdict on the paused call (Agenta's resolution); for a `user_input` interaction, also the text."""

    model_config = ConfigDict(extra="allow", defer_build=True)
    verdict: Literal["approved", "denied"]
    text: Annotated[str, Field(max_length=100_000)] | None = None


class InteractionRespond(Body):
    """`{"answer": {"verdict": "approved"}}`; for input `{"answer": {"verdict": "approved", "text": ...}}`."""

    answer: InteractionAnswer


class TurnSpec(Body):
    """What the next turn runs: the harness, the model (its credentials come from the project's vault),
    new messages (after the session's conversation so far), the system prompt and the tools."""

    model: Annotated[str, Field(min_length=1, max_length=300)] = "mock/echo"
    harness: dict[str, Any] = Field(default_factory=dict)
    messages: Annotated[list[dict[str, Any]], Field(max_length=1000)] = Field(default_factory=list)
    system_prompt: Annotated[str, Field(max_length=200_000)] | None = None
    tools: Annotated[list[dict[str, Any]], Field(max_length=200)] = Field(default_factory=list)


class TurnRun(Body):
    """Start a session's next turn (a new session when session_id is omitted)."""

    session_id: uuid.UUID | None = None
    run: TurnSpec


class ToolCall(Body):
    """A server-side tool call relayed by the runner (with its short-lived project token)."""

    session_id: uuid.UUID
    tool_call_id: Annotated[str, Field(max_length=200)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    arguments: dict[str, Any] = Field(default_factory=dict)


# ---------------------------------------------------------------- responses


class SessionView(View):
    id: uuid.UUID
    session_id: uuid.UUID
    project_id: uuid.UUID
    status: str
    turn_count: int
    meta: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: "AgentSession") -> "SessionView":
        return cls(
            id=row.id,
            session_id=row.id,
            project_id=row.project_id,
            status=row.status,
            turn_count=row.last_turn_index + 1,
            meta={"spec": row.spec},
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class TurnView(View):
    id: uuid.UUID
    turn_id: uuid.UUID
    project_id: uuid.UUID
    session_id: uuid.UUID
    stream_id: uuid.UUID
    turn_index: int
    harness_kind: str
    status: str
    result: dict[str, Any] | None
    start_time: datetime | None
    end_time: datetime | None

    @classmethod
    def of(cls, row: "SessionTurn") -> "TurnView":
        return cls(
            id=row.id,
            turn_id=row.id,
            project_id=row.project_id,
            session_id=row.session_id,
            stream_id=row.session_id,
            turn_index=row.turn_index,
            harness_kind=row.harness_kind,
            status=row.status,
            result=row.result,
            start_time=row.start_time,
            end_time=row.end_time,
        )


class RecordView(View):
    record_id: uuid.UUID
    session_id: uuid.UUID
    project_id: uuid.UUID
    turn_id: uuid.UUID
    record_index: int
    timestamp: datetime | None
    record_type: str
    record_source: str = "runner"
    attributes: dict[str, Any]

    @classmethod
    def of(cls, row: "SessionRecord") -> "RecordView":
        return cls(
            record_id=row.id,
            session_id=row.session_id,
            project_id=row.project_id,
            turn_id=row.turn_id,
            record_index=row.sequence,
            timestamp=row.timestamp,
            record_type=row.record_type,
            attributes=row.attributes,
        )


class InteractionRequestView(View):
    tool: str | None = None
    args: Any = None
    tool_call_id: str | None = None


class InteractionData(View):
    request: InteractionRequestView
    resolution: dict[str, Any] | None


class InteractionView(View):
    id: uuid.UUID
    project_id: uuid.UUID
    session_id: uuid.UUID
    turn_id: uuid.UUID
    token: str
    kind: str
    status: str
    data: InteractionData
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: "SessionInteraction") -> "InteractionView":
        request = row.request or {}
        return cls(
            id=row.id,
            project_id=row.project_id,
            session_id=row.session_id,
            turn_id=row.turn_id,
            token=row.token,
            kind=row.kind,
            status=row.status,
            data=InteractionData(
                request=InteractionRequestView(
                    tool=request.get("tool"),
                    args=request.get("args"),
                    tool_call_id=request.get("tool_call_id"),
                ),
                resolution=row.answer,
            ),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class WindowOut(View):
    """Where the next window starts (pass it back as `windowing.next`); absent on the last window."""

    next: uuid.UUID | None = None


class SessionResponse(View):
    count: int
    session: SessionView


class SessionsResponse(View):
    count: int
    sessions: list[SessionView]
    windowing: WindowOut | None = None


class TurnResponse(View):
    count: int
    turn: TurnView


class TurnsResponse(View):
    count: int
    turns: list[TurnView]
    windowing: WindowOut | None = None


class RecordResponse(View):
    count: int
    record: RecordView


class RecordsResponse(View):
    count: int
    records: list[RecordView]
    windowing: WindowOut | None = None


class InteractionResponse(View):
    count: int
    interaction: InteractionView


class InteractionsResponse(View):
    count: int
    interactions: list[InteractionView]
    windowing: WindowOut | None = None


class TurnRequested(View):
    count: int
    session_id: uuid.UUID
    turn_id: uuid.UUID
    status: Literal["queued"] = "queued"


class ToolResult(View):
    tool_call_id: str
    name: str
    result: Any
