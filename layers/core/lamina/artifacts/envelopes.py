"""Agenta's response envelopes, as every artifact kind's routes answer: `{"count": 1, "<item>": {...}}` and
`{"count": n, "<items>": [...], "windowing": {"next": ...}}`."""

from __future__ import annotations

import uuid
from typing import Any

# Routes return dicts; the response model checks them and serialises the keys they set (an optional key such
# as `windowing` is left out rather than sent as null).
ONLY_SET_FIELDS: dict[str, Any] = {"response_model_exclude_unset": True}


def one(name: str, item: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"count": 1, name: item, **extra}


def many(name: str, items: list[dict[str, Any]], next_cursor: uuid.UUID | None = None) -> dict[str, Any]:
    """The window's items; `windowing.next` only when there is a next window."""
    body: dict[str, Any] = {"count": len(items), name: items}
    if next_cursor is not None:
        body["windowing"] = {"next": next_cursor}
    return body
