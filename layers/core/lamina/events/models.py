"""The event log: every domain event the events worker has accepted, exactly once per envelope id."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lamina.db.base import Base, utcnow


class EventRecord(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_project_id_occurred_at", "project_id", "occurred_at"),)

    # The envelope id: redelivered messages hit the primary key and are ignored.
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    project_id: Mapped[uuid.UUID | None] = mapped_column()
    type: Mapped[str] = mapped_column(String(200), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EventSettings(Base):
    """A project's override of how long its events (and its trigger deliveries) are kept; a project without
    a row keeps them `Settings.events_retention_days`."""

    __tablename__ = "event_settings"

    project_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    retention_days: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
