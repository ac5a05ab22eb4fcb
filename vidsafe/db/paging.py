"""Cursor paging: a page of rows in a fixed order, and an opaque cursor to the next one.

A cursor is the sort key of the last row served, as base64url JSON: the next page starts after it, so rows
added meanwhile never shift or repeat a page (as offsets would). Each of its values is read back as the type
its list sorts by (a time, an id, a number), so a cursor a client forged is a 422 invalid_cursor, never a query
that fails.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

Row = TypeVar("Row")


class InvalidCursor(ValueError):
    """A cursor this service did not make (or one for another list)."""


def encode_cursor(position: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode().rstrip("=")


def timestamp(value: Any) -> datetime:
    if not isinstance(value, str):
        raise TypeError(value)
    return datetime.fromisoformat(value)


def identifier(value: Any) -> UUID:
    if not isinstance(value, str):
        raise TypeError(value)
    return UUID(value)


def integer(value: Any) -> int:
    """A whole number Postgres' bigint holds."""
    if isinstance(value, bool) or not isinstance(value, int) or not -(2**63) <= value < 2**63:
        raise TypeError(value)
    return value


def number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TypeError(value)
    return float(value)


def decode_cursor(cursor: str | None, fields: Mapping[str, Callable[[Any], Any]]) -> dict[str, Any] | None:
    """The position a cursor holds (None: the first page), each value read by its field's reader (``timestamp``,
    ``identifier``, ``integer``, ``number``); InvalidCursor unless it has exactly ``fields``, each readable."""
    if cursor is None:
        return None
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidCursor("the cursor is not one this service made") from None
    if not isinstance(position, dict) or sorted(position) != sorted(fields):
        raise InvalidCursor("the cursor belongs to another list")
    try:
        return {name: read(position[name]) for name, read in fields.items()}
    except (TypeError, ValueError, OverflowError):
        raise InvalidCursor("the cursor is not one this service made") from None


@dataclass(frozen=True)
class Page(Generic[Row]):
    items: list[Row]
    next_cursor: str | None


def page_of(rows: list[Row], limit: int, position: Callable[[Row], dict[str, Any]]) -> Page[Row]:
    """``rows`` fetched with ``limit + 1``: the page, and a cursor if there is more."""
    items = rows[:limit]
    return Page(items, encode_cursor(position(items[-1])) if len(rows) > limit and items else None)
