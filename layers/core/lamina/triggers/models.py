"""Trigger schedules, event subscriptions, and the delivery log of what each of them ran."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, Index, String, Text, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lamina.db.base import Base, IdMixin, TimestampsMixin, utcnow


class TriggerHeader:
    """What schedules and subscriptions share: Agenta's header, metadata and `is_active` flag."""

    project_id: Mapped[uuid.UUID] = mapped_column(index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[str | None] = mapped_column(String(200))
    updated_by_id: Mapped[str | None] = mapped_column(String(200))
    # `data` as the client sent it (the destination, the inputs mapping, ...), returned unchanged.
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)


class TriggerSchedule(IdMixin, TimestampsMixin, TriggerHeader, Base):
    __tablename__ = "trigger_schedules"
    # The cron task reads `next_tick_at <= now` across projects every minute.
    __table_args__ = (Index("ix_trigger_schedules_next_tick_at", "next_tick_at"),)

    cron: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(100))
    start_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The tick fired last, and the next one due (None: stopped, or past its end time).
    last_tick_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_tick_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TriggerSubscription(IdMixin, TimestampsMixin, TriggerHeader, Base):
    __tablename__ = "trigger_subscriptions"

    # The event types it fires on: an exact type, a `prefix.*` family, or `*`.
    event_key: Mapped[str] = mapped_column(String(200))
    is_test: Mapped[bool] = mapped_column(Boolean, default=False)
    # False once revoked: it fires on nothing until refreshed (start/stop is the user's own is_active).
    is_valid: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    connection_id: Mapped[uuid.UUID | None] = mapped_column()


class TriggerDelivery(Base):
    """One run of a trigger for one schedule tick or one event.

    The id is derived from (trigger, tick) or (trigger, event id) (`lamina.triggers.dispatch.delivery_id`),
    so a tick or an event that arrives twice finds its delivery already there: it runs once.
    """

    __tablename__ = "trigger_deliveries"
    __table_args__ = (Index("ix_trigger_deliveries_project_id_created_at", "project_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column()
    subscription_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    schedule_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    event_id: Mapped[str] = mapped_column(String(200))
    # pending -> running -> success | failure (dispatched: an evaluation run was requested; skipped: a test).
    status: Mapped[str] = mapped_column(String(20))
    status_code: Mapped[str | None] = mapped_column(String(20))
    status_message: Mapped[str | None] = mapped_column(Text)
    # event_key, references, inputs, result, error, is_test (Agenta's TriggerDeliveryData) + the destination.
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
