"""The process's Redis client (cache, locks, rate limits), held by `lamina.state`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lamina.state import RedisNotConfiguredError

if TYPE_CHECKING:
    from redis import Redis

__all__ = ["RedisNotConfiguredError", "get_redis"]


def get_redis() -> Redis:
    """The Redis client for REDIS_URL (`redis://`, `rediss://` or `unix://`), created on first use."""
    from lamina.state import current

    return current().redis
