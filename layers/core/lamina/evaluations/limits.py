"""Limits shared by every evaluation worker invocation, kept in Redis: a run's concurrency and each provider's
requests and tokens per minute.

Redis is a limiter here, never a correctness dependency: when it cannot be reached, scenarios run unlimited
(one log line per process says so) and results are exactly as correct, only less polite to the provider.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

# A slot outlives a crashed invocation by at most this: its lease, then another invocation takes it.
SLOT_LEASE_S = 300
WINDOW_S = 60

# Frees the slots passed after ARGV[6] (finished scenarios), then grants what is free: one round trip.
_ACQUIRE_SLOTS = """
for i = 7, #ARGV do redis.call('ZREM', KEYS[1], ARGV[i]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local free = tonumber(ARGV[2]) - redis.call('ZCARD', KEYS[1])
local granted = 0
for i = 1, math.min(free, tonumber(ARGV[3])) do
  redis.call('ZADD', KEYS[1], ARGV[4], ARGV[5] .. ':' .. i)
  granted = granted + 1
end
redis.call('EXPIRE', KEYS[1], ARGV[6])
return granted
"""

# One fixed one-minute window per provider: count the request, refuse it (undo) when over either limit.
_TAKE_REQUEST = """
local requests = redis.call('INCR', KEYS[1])
if requests == 1 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
local tokens = tonumber(redis.call('GET', KEYS[2]) or '0')
if (tonumber(ARGV[1]) > 0 and requests > tonumber(ARGV[1])) or (tonumber(ARGV[2]) > 0 and tokens >= tonumber(ARGV[2])) then
  redis.call('DECR', KEYS[1])
  return 0
end
return 1
"""


def _redis() -> Any | None:
    """The Redis client, or None (logged once per process) when there is none to limit with."""
    from lamina.state import current

    try:
        return current().redis
    except Exception as error:
        _warn_once(error)
        return None


def _warn_once(error: BaseException) -> None:
    from lamina.state import current

    def warn() -> bool:
        logger.warning("evaluation limits off: Redis unavailable", extra={"error": repr(error)})
        return True

    current().memo("evaluations:limits_off_warned", warn)


class RunSlots:
    """A run's concurrency across invocations: at most `limit` slots held at once, each with a lease."""

    def __init__(self, run_id: uuid.UUID, limit: int) -> None:
        self.key = f"lamina:evaluations:slots:{run_id}"
        self.limit = limit
        self.owner = uuid.uuid4().hex
        self._serial = 0
        self.unlimited = False

    def acquire(self, wanted: int, released: list[str] | None = None) -> list[str]:
        """Up to `wanted` slot tokens (maybe none); every one of them when Redis is unavailable. The
        `released` tokens are given back in the same call."""
        freed = [token for token in released or [] if token]
        if wanted <= 0 and not freed:
            return []
        if self.unlimited:
            return [""] * max(wanted, 0)
        client = _redis()
        if client is None:
            self.unlimited = True
            return [""] * wanted
        self._serial += 1
        prefix = f"{self.owner}:{self._serial}"
        now = time.time()
        try:
            granted = int(
                client.eval(
                    _ACQUIRE_SLOTS,
                    1,
                    self.key,
                    now,
                    self.limit,
                    wanted,
                    now + SLOT_LEASE_S,
                    prefix,
                    SLOT_LEASE_S * 2,
                    *freed,
                )
            )
        except Exception as error:
            _warn_once(error)
            self.unlimited = True
            return [""] * max(wanted, 0)
        return [f"{prefix}:{index}" for index in range(1, granted + 1)]

    def release(self, token: str) -> None:
        if not token or self.unlimited:
            return
        client = _redis()
        if client is None:
            return
        try:
            client.zrem(self.key, token)
        except Exception as error:
            _warn_once(error)


@dataclass(frozen=True)
class ProviderLimit:
    rpm: int = 0
    tpm: int = 0


def provider_limit(provider: str) -> ProviderLimit | None:
    from lamina.settings import get_settings

    raw = get_settings().evaluation_provider_limits.get(provider)
    if not raw:
        return None
    return ProviderLimit(rpm=int(raw.get("rpm", 0)), tpm=int(raw.get("tpm", 0)))


def _window_keys(provider: str, now: float) -> tuple[list[str], float]:
    window = int(now // WINDOW_S)
    base = f"lamina:evaluations:rate:{provider}:{window}"
    return [f"{base}:requests", f"{base}:tokens"], (window + 1) * WINDOW_S - now


def take_request(provider: str) -> float:
    """0 when a request to `provider` may go now, else how many seconds until its window reopens."""
    limit = provider_limit(provider)
    if limit is None:
        return 0.0
    client = _redis()
    if client is None:
        return 0.0
    keys, wait_s = _window_keys(provider, time.time())
    try:
        allowed = int(client.eval(_TAKE_REQUEST, 2, *keys, limit.rpm, limit.tpm, WINDOW_S * 2))
    except Exception as error:
        _warn_once(error)
        return 0.0
    return 0.0 if allowed else max(wait_s, 0.05)


def record_tokens(provider: str, tokens: int) -> None:
    """Count the tokens a request used against its provider's minute."""
    if tokens <= 0 or provider_limit(provider) is None:
        return
    client = _redis()
    if client is None:
        return
    keys, _ = _window_keys(provider, time.time())
    try:
        pipe = client.pipeline()
        pipe.incrby(keys[1], tokens)
        pipe.expire(keys[1], WINDOW_S * 2)
        pipe.execute()
    except Exception as error:
        _warn_once(error)
