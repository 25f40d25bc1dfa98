"""Sessions, their turns, their records (one per runner event, unique on turn and sequence) and the
interactions a paused turn waits on."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lamina.db.base import Base, IdMixin, TimestampsMixin


class AgentSession(TimestampsMixin, Base):
    __tablename__ = "agent_sessions"

    # The id the caller chose for the session (the runner's `session_id`).
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    # running, paused, completed, failed, killed: the status of its latest turn.
    status: Mapped[str] = mapped_column(String(20), default="running")
    # What a later turn needs to continue (harness, model name, tools...), never a credential.
    spec: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # The conversation after the latest turn, which the next turn continues.
    messages: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    last_turn_index: Mapped[int] = mapped_column(Integer, default=-1)


class SessionTurn(TimestampsMixin, Base):
    __tablename__ = "session_turns"
    __table_args__ = (Index("ix_session_turns_session_index", "session_id", "turn_index"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agent_sessions.id", ondelete="CASCADE"))
    turn_index: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="running")
    harness_kind: Mapped[str] = mapped_column(String(40), default="agent")
    spec: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    start_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SessionRecord(IdMixin, Base):
    __tablename__ = "session_records"
    # The idempotency key: a batch delivered twice inserts nothing the second time.
    __table_args__ = (
        UniqueConstraint("turn_id", "sequence"),
        Index("ix_session_records_session", "session_id"),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agent_sessions.id", ondelete="CASCADE"))
    turn_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("session_turns.id", ondelete="CASCADE"))
    sequence: Mapped[int] = mapped_column(Integer)
    record_type: Mapped[str] = mapped_column(String(100))
    timestamp: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class SessionInteraction(TimestampsMixin, Base):
    __tablename__ = "session_interactions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agent_sessions.id", ondelete="CASCADE"), index=True
    )
    turn_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("session_turns.id", ondelete="CASCADE"))
    # The id the harness gave the request (what it expects back when resumed).
    token: Mapped[str] = mapped_column(String(200))
    # user_approval, user_input (Agenta's kinds).
    kind: Mapped[str] = mapped_column(String(40))
    # pending → responded (answer staged for the worker) → resolved (a new turn picked it up); cancelled.
    status: Mapped[str] = mapped_column(String(20), default="pending")
    request: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    resolved_turn_id: Mapped[uuid.UUID | None] = mapped_column()
    responded_by: Mapped[str | None] = mapped_column(Text)
