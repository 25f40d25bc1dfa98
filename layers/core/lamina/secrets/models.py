"""Secrets at rest: only ciphertext, the KMS-wrapped data key, and a short hint for recognising the value."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lamina.db.base import Base, IdMixin, TimestampsMixin


class Secret(IdMixin, TimestampsMixin, Base):
    __tablename__ = "secrets"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # "provider_key" (with `provider`, e.g. "openai") or "custom".
    kind: Mapped[str] = mapped_column(String(40))
    provider: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    # AES-256-GCM of the value under a per-secret data key; the nonce is prepended to the ciphertext.
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    # The data key as KMS returned it (encrypted under the KMS key): only KMS can unwrap it.
    encrypted_data_key: Mapped[bytes] = mapped_column(LargeBinary)
    kms_key_id: Mapped[str] = mapped_column(String(2048))
    # The last few characters, shown masked (`sk-…abcd`); empty for values too short to hint at safely.
    hint: Mapped[str] = mapped_column(String(8), default="")
    created_by: Mapped[str | None] = mapped_column(String(100))
