"""Two costs pg8000 adds to every statement, removed once per process (`tune_pg8000`).

1. **Nagle's algorithm against Postgres's delayed ACK.** pg8000 leaves TCP_NODELAY off and writes through an
   8 KiB buffer. A statement whose parameters pass 8 KiB (a batch's attempt log, a claim of 100 envelopes)
   leaves in several segments; the last, small one waits for the server to ACK the first, which Linux delays
   by up to 40 ms. Measured on the webhooks worker: a 100-envelope claim took 55 ms, 14 ms without the stall.
   libpq sets TCP_NODELAY for the same reason.
2. **Re-scanning the SQL text.** pg8000 converts each statement's placeholders (`%s`, `:name`) to `$n` with a
   character-by-character Python loop on every execute: about 1 ms of CPU for the inbox's longer statements,
   a third of the webhooks worker's CPU per batch. The conversion depends only on the paramstyle and the
   text, and SQLAlchemy hands pg8000 the same cached text each time, so it is memoised here.
"""

from __future__ import annotations

import functools
import socket
from typing import Any

# Statements whose conversion is remembered; SQLAlchemy's own compiled cache holds 500 by default.
PARAMSTYLE_CACHE_SIZE = 1024

_installed = False


def tune_pg8000() -> None:
    """Memoise pg8000's paramstyle conversion (idempotent; pg8000's `legacy` module is what SQLAlchemy uses)."""
    global _installed
    if _installed:
        return
    import pg8000.legacy

    original = pg8000.legacy.convert_paramstyle

    @functools.lru_cache(maxsize=PARAMSTYLE_CACHE_SIZE)
    def converted(
        style: str, query: str, names: tuple[str, ...] | None
    ) -> tuple[str, tuple[str, ...] | None]:
        """The `$n` text and, for a mapping's styles, the parameter names in `$n` order; None when pg8000
        passes the arguments through as they are (a positional style, or a pyformat text that turned out
        to use `%s`: pg8000 switches to `format` on the first bare `%`)."""
        if names is None:
            statement, _ = original(style, query, ())
            return statement, None
        # Each name maps to itself: the "values" pg8000 returns are then the names, in order.
        identity = {name: name for name in names}
        statement, order = original(style, query, identity)
        return statement, None if order is identity else tuple(order)

    def convert_paramstyle(style: str, query: str, args: Any) -> tuple[str, Any]:
        if style in ("numeric", "qmark", "format"):
            statement, _ = converted(style, query, None)
            return statement, args
        if isinstance(args, dict):
            statement, order = converted(style, query, tuple(sorted(args)))
            return statement, args if order is None else tuple(args[name] for name in order)
        statement, values = original(style, query, args)  # pyformat with a sequence: rare, not cached
        return statement, values

    pg8000.legacy.convert_paramstyle = convert_paramstyle
    _installed = True


def set_nodelay(dbapi_connection: Any, _record: Any = None) -> None:
    """SQLAlchemy's `connect` hook: turn Nagle off on a TCP connection (a unix socket has no such option)."""
    sock = getattr(dbapi_connection, "_usock", None)
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
