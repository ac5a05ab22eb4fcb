"""Decisions exported as CSV (issue 25): a note or label a spreadsheet would run as a formula is written as text."""

from __future__ import annotations

import pytest

from vidsafe.gateway.decisions import spreadsheet_cell


@pytest.mark.parametrize("typed", ['=HYPERLINK("http://evil.example","click")', "@SUM(A1:A9)", "+1+2", "-2+3",
                                   "\t=1+1", "\r=1+1"])
def test_a_cell_that_would_run_is_written_as_text(typed: str) -> None:
    assert spreadsheet_cell(typed) == "'" + typed


@pytest.mark.parametrize("plain", ["adult_nudity", "a note = fine", "", None, -1.5, 3])
def test_other_cells_are_left_as_they_are(plain: object) -> None:
    assert spreadsheet_cell(plain) == plain
