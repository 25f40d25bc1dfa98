"""Cursor windowing over (time, id) for logs whose ids are not time-ordered (event ids come from publishers,
delivery ids are derived from what they deliver): Agenta's `windowing {newest, oldest, next, limit, order}`."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import ConfigDict, Field

from lamina.api.schemas import DEFAULT_WINDOW_LIMIT, MAX_WINDOW_LIMIT, Model
from lamina.errors import ValidationFailedError

if TYPE_CHECKING:  # SQLAlchemy stays out of the routes' cold-start imports
    from sqlalchemy import Select
    from sqlalchemy.orm import Session


class LogWindowing(Model):
    """Agenta's Windowing: `oldest` inclusive, `newest` exclusive, `next` the cursor a previous page gave."""

    # Agenta's clients also send `interval` and `rate` (analytics): accepted, unused here.
    model_config = ConfigDict(extra="ignore", defer_build=True)

    newest: datetime | None = None
    oldest: datetime | None = None
    next: Annotated[str, Field(max_length=200)] | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_WINDOW_LIMIT)] = DEFAULT_WINDOW_LIMIT
    order: Literal["ascending", "descending"] = "descending"


class NextWindow(Model):
    next: str


@dataclass(frozen=True)
class LogWindow:
    rows: list[Any]
    next: str | None

    @property
    def windowing(self) -> NextWindow | None:
        return NextWindow(next=self.next) if self.next else None


def encode_cursor(moment: datetime, row_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{moment.isoformat()}|{row_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, row_id = raw.split("|", 1)
        return datetime.fromisoformat(moment), uuid.UUID(row_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValidationFailedError(
            f"windowing.next: {cursor[:50]!r} is not a cursor this API gave"
        ) from None


def fetch_log_window(
    session: Session, statement: Select[Any], time_column: Any, id_column: Any, windowing: LogWindowing | None
) -> LogWindow:
    """One window of `statement`'s rows ordered by (time, id), after `windowing.next`, within newest/oldest."""
    from sqlalchemy import tuple_

    windowing = windowing or LogWindowing()
    descending = windowing.order == "descending"
    if windowing.oldest is not None:
        statement = statement.where(time_column >= windowing.oldest)
    if windowing.newest is not None:
        statement = statement.where(time_column < windowing.newest)
    if windowing.next:
        key, cursor = tuple_(time_column, id_column), tuple_(*decode_cursor(windowing.next))
        statement = statement.where(key < cursor if descending else key > cursor)
    order = (time_column.desc(), id_column.desc()) if descending else (time_column.asc(), id_column.asc())
    rows = list(session.execute(statement.order_by(*order).limit(windowing.limit + 1)).scalars())
    if len(rows) <= windowing.limit:
        return LogWindow(rows, None)
    rows = rows[: windowing.limit]
    last = rows[-1]
    return LogWindow(rows, encode_cursor(getattr(last, time_column.key), getattr(last, id_column.key)))
