"""The process-wide Redis client (cache, locks, rate limits, idempotency keys)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lamina.settings import get_settings

if TYPE_CHECKING:
    from redis import Redis

SOCKET_TIMEOUT_S = 5

_redis: Redis | None = None


class RedisNotConfiguredError(RuntimeError):
    pass


def get_redis() -> Redis:
    """The Redis client for REDIS_URL (`redis://`, `rediss://` or `unix://`), created on first use."""
    global _redis
    if _redis is None:
        from redis import Redis

        url = get_settings().redis_url
        if not url:
            raise RedisNotConfiguredError("REDIS_URL is not set")
        _redis = Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT_S, socket_connect_timeout=SOCKET_TIMEOUT_S)
    return _redis


def reset_redis() -> None:
    global _redis
    if _redis is not None:
        _redis.close()
    _redis = None
