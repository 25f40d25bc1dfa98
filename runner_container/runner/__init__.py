"""The Lamina runner: executes agent runs in sandboxes and streams their events (HTTP, port 8765)."""

from __future__ import annotations

__version__ = "0.1.0"
