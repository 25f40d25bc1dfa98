"""A per-project cache of read answers (encoded JSON documents) that one counter invalidates.

Every change of a kind's rows bumps the project's generation counter after its commit: one INCR makes every
cached answer of the project stale, whatever reference form (id, slug, key) it was asked with. An answer is
stored under the generation read *before* the database was: if a deploy commits in between, the entry lands
under a generation nobody reads any more, never under the new one. Without Redis there is just no cache.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

logger = logging.getLogger(__name__)

# Answers expire after this even if nothing changes (a deploy invalidates them at once anyway).
ANSWER_TTL_S = 300

# The generation and the answer under it, in one round trip.
_GET_SCRIPT = """
local generation = redis.call('GET', KEYS[1]) or '0'
return {generation, redis.call('GET', ARGV[1] .. generation .. ':' .. ARGV[2]) or false}
"""
_GET_SCRIPT_MEMO_KEY = "artifacts:generation_cache_get_script"


def request_key(request: dict[str, Any]) -> str:
    """A canonical text of a request: equal requests, equal keys."""
    return json.dumps(request, sort_keys=True, separators=(",", ":"))


class GenerationCache:
    """Answers of one namespace (e.g. `registry`), per project, invalidated by a generation counter."""

    def __init__(self, namespace: str, ttl_s: int = ANSWER_TTL_S) -> None:
        self.namespace = namespace
        self.ttl_s = ttl_s

    def _generation_key(self, project_id: uuid.UUID) -> str:
        return f"lamina:{self.namespace}:generation:{project_id}"

    def _answer_prefix(self, project_id: uuid.UUID) -> str:
        return f"lamina:{self.namespace}:retrieve:{project_id}:"

    def get(self, project_id: uuid.UUID, key: str) -> tuple[str | None, bytes | None]:
        """(the project's generation, the cached answer or None); (None, None) when Redis is unavailable."""
        try:
            from lamina.state import current

            state = current()
            script = state.memo(_GET_SCRIPT_MEMO_KEY, lambda: state.redis.register_script(_GET_SCRIPT))
            generation, value = script(
                keys=[self._generation_key(project_id)], args=[self._answer_prefix(project_id), key]
            )
        except Exception as error:
            from lamina.outages import report_failure

            report_failure("redis", error)
            return None, None
        from lamina.outages import report_success

        report_success("redis")
        generation = generation.decode() if isinstance(generation, bytes) else str(generation)
        return generation, bytes(value) if value else None

    def put(self, project_id: uuid.UUID, generation: str, key: str, answer: bytes) -> None:
        """Store `answer` under the generation read before the database was (see the module docstring)."""
        try:
            from lamina.cache import get_redis

            get_redis().set(f"{self._answer_prefix(project_id)}{generation}:{key}", answer, ex=self.ttl_s)
        except Exception as error:
            from lamina.outages import report_failure

            report_failure("redis", error)

    def invalidate(self, project_id: uuid.UUID) -> None:
        """Make every cached answer of the project stale (run after a change commits)."""
        from lamina.cache import get_redis

        get_redis().incr(self._generation_key(project_id))
