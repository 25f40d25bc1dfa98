"""The causation depth of the envelope being handled, so what its handler stages inherits it.

A worker's handler runs inside `handling(envelope)`; `stage_message` (and so `stage_event`) stamps each
envelope it stages with `current_depth()`. Only a trigger's fan-out adds one (`lamina.triggers.dispatch`): the
depth counts trigger runs in a chain, whatever workers the chain passes through (an evaluation a trigger
started ends in an `evaluations.run.finished` event of the same depth).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_depth: ContextVar[int] = ContextVar("lamina_causation_depth", default=0)


def current_depth() -> int:
    return _depth.get()


@contextmanager
def handling(depth: int) -> Iterator[None]:
    """Handle an envelope of causation depth `depth`: what is staged meanwhile carries it."""
    token = _depth.set(depth)
    try:
        yield
    finally:
        _depth.reset(token)
