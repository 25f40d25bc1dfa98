"""Membership roles (kept apart from the models so permission checks import no SQLAlchemy)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Membership roles, most powerful first."""

    OWNER = "owner"
    ADMIN = "admin"
    EDITOR = "editor"
    VIEWER = "viewer"
