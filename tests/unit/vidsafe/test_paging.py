"""Cursor paging (vidsafe/db/paging.py): a cursor is the last row's sort key, and only a cursor of the same list
is taken back, and only with values of the types its list sorts by."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from vidsafe.db.paging import (
    InvalidCursor,
    decode_cursor,
    encode_cursor,
    identifier,
    integer,
    number,
    page_of,
    timestamp,
)

TIME_AND_ID = {"t": timestamp, "id": identifier}


def test_a_cursor_gives_back_the_position_it_was_made_of() -> None:
    position = {"t": "2026-12-07T10:00:00+00:00", "id": "7b0c3e4e-6a43-4ef4-a2c5-0c1a8b2b9d10"}
    cursor = encode_cursor(position)
    assert "=" not in cursor and "/" not in cursor and "+" not in cursor, "URL-safe, unpadded"
    assert decode_cursor(cursor, TIME_AND_ID) == {"t": datetime(2026, 12, 7, 10, tzinfo=UTC),
                                                  "id": UUID(position["id"])}
    assert decode_cursor(None, TIME_AND_ID) is None, "no cursor: the first page"


@pytest.mark.parametrize("cursor", ["not base64 at all!", base64.urlsafe_b64encode(b"{broken").decode(),
                                    base64.urlsafe_b64encode(b"[1, 2]").decode(),
                                    base64.urlsafe_b64encode(b"\xff\xfe").decode()])
def test_a_cursor_this_service_did_not_make_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor, match=r"not one this service made|another list"):
        decode_cursor(cursor, {"id": integer})


@pytest.mark.parametrize("position", [
    {"t": "yesterday", "id": "7b0c3e4e-6a43-4ef4-a2c5-0c1a8b2b9d10"}, {"t": 5, "id": "x"},
    {"t": "2026-12-07T10:00:00", "id": "not-a-uuid"}, {"t": None, "id": None}, {"t": [], "id": {}},
], ids=["words-for-a-time", "number-for-a-time", "not-a-uuid", "nulls", "containers"])
def test_a_forged_cursor_with_values_of_the_wrong_type_is_refused(position: dict) -> None:
    """Once a 500 on five lists: the values went to SQL as they were."""
    with pytest.raises(InvalidCursor, match="not one this service made"):
        decode_cursor(encode_cursor(position), TIME_AND_ID)


@pytest.mark.parametrize(("read", "value"), [(integer, 2**63), (integer, True), (integer, 1.5), (number, float("nan")),
                                             (number, "1"), (identifier, 7), (timestamp, None)])
def test_each_reader_takes_only_its_own_type(read: Callable[[Any], Any], value: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        read(value)


def test_a_cursor_of_another_list_is_refused() -> None:
    with pytest.raises(InvalidCursor, match="another list"):
        decode_cursor(encode_cursor({"r": 0.5, "t": "x", "id": "y"}), TIME_AND_ID)


def test_a_page_has_a_cursor_only_when_there_is_more() -> None:
    rows = [{"id": n} for n in range(4)]
    more = page_of(rows, 3, lambda row: {"id": row["id"]})
    assert more.items == rows[:3] and decode_cursor(more.next_cursor, {"id": integer}) == {"id": 2}
    last = page_of(rows[:3], 3, lambda row: {"id": row["id"]})
    assert last.items == rows[:3] and last.next_cursor is None
    assert page_of([], 3, lambda row: {"id": row["id"]}).next_cursor is None
