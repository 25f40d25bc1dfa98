"""Webhook subscriptions (with their circuit breaker) and the delivery log, one row per attempt."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lamina.db.base import Base, IdMixin, TimestampsMixin, utcnow


class WebhookSubscription(IdMixin, TimestampsMixin, Base):
    __tablename__ = "webhook_subscriptions"
    __table_args__ = (
        # The events worker's fan-out: a project's active subscriptions whose types include the event's.
        Index("ix_webhook_subscriptions_event_types", "event_types", postgresql_using="gin"),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict)
    # Empty: every event type of the project.
    event_types: Mapped[list[str]] = mapped_column(JSONB, default=list)
    is_active: Mapped[bool] = mapped_column(default=True)
    tags: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_by: Mapped[str | None] = mapped_column(String(100))
    # The signing secret, envelope-encrypted like the vault's secrets (`lamina.secrets.service`).
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    secret_data_key: Mapped[bytes] = mapped_column(LargeBinary)
    secret_kms_key_id: Mapped[str] = mapped_column(String(2048))
    # The circuit breaker (`lamina.webhooks.breaker`): closed, open (until `breaker_open_until`) or half_open
    # (one probe in flight until `breaker_probe_expires_at`).
    breaker_state: Mapped[str] = mapped_column(String(20), default="closed", server_default="closed")
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    breaker_open_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    breaker_probe_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    breaker_trips: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class WebhookDeliveryAttempt(IdMixin, Base):
    """One attempt to deliver one event to one subscription: the delivery log."""

    __tablename__ = "webhook_delivery_attempts"
    __table_args__ = (
        Index("ix_webhook_delivery_attempts_project_id_attempted_at", "project_id", "attempted_at"),
        Index("ix_webhook_delivery_attempts_delivery_id", "delivery_id"),
        Index("ix_webhook_delivery_attempts_subscription_id", "subscription_id"),
    )

    project_id: Mapped[uuid.UUID] = mapped_column()
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID] = mapped_column()
    event_type: Mapped[str] = mapped_column(String(200))
    # Deterministic per event x subscription: every attempt (and a replay) of one delivery shares it.
    delivery_id: Mapped[uuid.UUID] = mapped_column()
    attempt: Mapped[int] = mapped_column(Integer)
    # succeeded | retrying | failed (out of attempts: sent to the DLQ) | cancelled (subscription stopped)
    status: Mapped[str] = mapped_column(String(20))
    url: Mapped[str] = mapped_column(Text)
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    response_body: Mapped[str | None] = mapped_column(Text)
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # When the next attempt is due (a retry), so "backoff respected" is checkable from the log.
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
