"""Cursor paging: a page of rows in a fixed order, and an opaque cursor to the next one.

A cursor is the sort key of the last row served, as base64url JSON: the next page starts after it, so rows
added meanwhile never shift or repeat a page (as offsets would). The gateway answers a cursor it cannot read
with 422 invalid_cursor.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

Row = TypeVar("Row")


class InvalidCursor(ValueError):
    """A cursor this service did not make (or one for another list)."""


def encode_cursor(position: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, keys: Sequence[str]) -> dict[str, Any] | None:
    """The position a cursor holds (None: the first page); InvalidCursor unless it has exactly ``keys``."""
    if cursor is None:
        return None
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidCursor("the cursor is not one this service made") from None
    if not isinstance(position, dict) or sorted(position) != sorted(keys):
        raise InvalidCursor("the cursor belongs to another list")
    return position


@dataclass(frozen=True)
class Page(Generic[Row]):
    items: list[Row]
    next_cursor: str | None


def page_of(rows: list[Row], limit: int, position: Callable[[Row], dict[str, Any]]) -> Page[Row]:
    """``rows`` fetched with ``limit + 1``: the page, and a cursor if there is more."""
    items = rows[:limit]
    return Page(items, encode_cursor(position(items[-1])) if len(rows) > limit and items else None)
