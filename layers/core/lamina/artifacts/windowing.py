"""Cursor windowing over uuid7 primary keys (time-ordered, so an id is a stable cursor)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

from lamina.api.schemas import Windowing

T = TypeVar("T")


@dataclass(frozen=True)
class Window(Generic[T]):
    items: list[T]
    # The cursor of the next window (the last item's id), None on the last window.
    next: uuid.UUID | None


def fetch_window(
    session: Session, query: Select[Any], id_column: Any, windowing: Windowing | None
) -> Window[Any]:
    """One window of `query`'s rows ordered by `id_column`, starting after `windowing.next`."""
    windowing = windowing or Windowing()
    descending = windowing.order == "descending"
    if windowing.next is not None:
        query = query.where(id_column < windowing.next if descending else id_column > windowing.next)
    query = query.order_by(id_column.desc() if descending else id_column.asc())
    # One extra row tells whether there is a next window.
    rows = list(session.execute(query.limit(windowing.limit + 1)).scalars())
    if len(rows) > windowing.limit:
        rows = rows[: windowing.limit]
        return Window(rows, rows[-1].id)
    return Window(rows, None)
