"""Cursor paging (vidsafe/db/paging.py): a cursor is the last row's sort key, and only a cursor of the same list
is taken back."""

from __future__ import annotations

import base64

import pytest

from vidsafe.db.paging import InvalidCursor, decode_cursor, encode_cursor, page_of


def test_a_cursor_gives_back_the_position_it_was_made_of() -> None:
    position = {"t": "2026-12-07T10:00:00+00:00", "id": "7b0c3e4e-6a43-4ef4-a2c5-0c1a8b2b9d10"}
    cursor = encode_cursor(position)
    assert "=" not in cursor and "/" not in cursor and "+" not in cursor, "URL-safe, unpadded"
    assert decode_cursor(cursor, ("id", "t")) == position
    assert decode_cursor(None, ("id", "t")) is None, "no cursor: the first page"


@pytest.mark.parametrize("cursor", ["not base64 at all!", base64.urlsafe_b64encode(b"{broken").decode(),
                                    base64.urlsafe_b64encode(b"[1, 2]").decode(),
                                    base64.urlsafe_b64encode(b"\xff\xfe").decode()])
def test_a_cursor_this_service_did_not_make_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor, match=r"not one this service made|another list"):
        decode_cursor(cursor, ("id",))


def test_a_cursor_of_another_list_is_refused() -> None:
    with pytest.raises(InvalidCursor, match="another list"):
        decode_cursor(encode_cursor({"r": 0.5, "t": "x", "id": "y"}), ("t", "id"))


def test_a_page_has_a_cursor_only_when_there_is_more() -> None:
    rows = [{"id": n} for n in range(4)]
    more = page_of(rows, 3, lambda row: {"id": row["id"]})
    assert more.items == rows[:3] and decode_cursor(more.next_cursor, ("id",)) == {"id": 2}
    last = page_of(rows[:3], 3, lambda row: {"id": row["id"]})
    assert last.items == rows[:3] and last.next_cursor is None
    assert page_of([], 3, lambda row: {"id": row["id"]}).next_cursor is None
