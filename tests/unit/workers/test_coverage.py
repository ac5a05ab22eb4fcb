"""A job's coverage (workers/coverage.py) from its chunks."""

from __future__ import annotations

import pytest

from vidsafe.db.parts import Decoded
from vidsafe.domain.errors import ErrorCode
from vidsafe.settings import Settings
from vidsafe.workers.coverage import ending, summarise


def test_chunks_sum_up_and_stretches_join_across_chunk_boundaries() -> None:
    chunks = [Decoded(8, 6, [(3.0, 4.0)], 1), Decoded(8, 4, [(4.0, 6.0)], 0), Decoded(4, 4, [], 0)]
    coverage = summarise(chunks, 10.0)
    assert coverage is not None
    assert (coverage.frames_expected, coverage.frames_analyzed, coverage.packets_skipped) == (20, 14, 1)
    assert [(r.start_s, r.end_s) for r in coverage.undecodable] == [(3.0, 6.0)]
    assert coverage.share == pytest.approx(0.7)
    warned = ending(coverage, Settings())
    assert [w.code for w in warned.warnings] == [ErrorCode.partial_coverage] and warned.failure is None
    assert "3.0-6.0 s" in warned.warnings[0].message
    failed = ending(coverage, Settings(low_coverage_fails=True))
    assert failed.failure is not None and failed.failure[0] == ErrorCode.partial_coverage and not failed.warnings
    assert ending(coverage, Settings(min_coverage=0.7)).warnings == []
    nothing = summarise([Decoded(8, 0, [(0.0, 4.0)], 3)], 4.0)
    assert ending(nothing, Settings()).failure == (ErrorCode.unreadable_media, "no frame of the video could be decoded")
    assert summarise([Decoded(0, 0, [], 0)], 4.0) is None, "no frame module ran: nothing was measured"
