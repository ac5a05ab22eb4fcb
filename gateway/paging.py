"""Cursor-paged lists: the ``cursor`` and ``limit`` query parameters, and the next page's cursor in the
``X-Next-Cursor`` header (absent on the last page) with a ``Link: <...>; rel="next"`` to it."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import Query, Request, Response

from vidsafe.db.paging import Page
from vidsafe.domain.api import NEXT_CURSOR_HEADER

Row = TypeVar("Row")

CursorParam = Annotated[str | None, Query(max_length=500, description="The X-Next-Cursor of the page before; unset: "
                                          "the first page")]

PAGED_HEADERS = {NEXT_CURSOR_HEADER: {"description": "Cursor of the next page; absent on the last",
                                      "schema": {"type": "string"}}}


def paged(request: Request, response: Response, page: Page[Row]) -> list[Row]:
    """The page's rows, with the headers that lead to the next page."""
    if page.next_cursor is not None:
        response.headers[NEXT_CURSOR_HEADER] = page.next_cursor
        response.headers["Link"] = f'<{request.url.include_query_params(cursor=page.next_cursor)}>; rel="next"'
    return page.items
