"""deploy/gpu/check.sh's parity check (benchmarks/gpu_check.py), run here against the cpu profile: it must find
every served network and the nudity preprocessing equal to their references, and tell a difference apart."""

from __future__ import annotations

from pathlib import Path

from benchmarks.gpu_check import TOLERANCES, check
from vidsafe.media.decoding import sample_frames
from vidsafe.settings import Settings


def test_cpu_profile_is_its_own_reference(running_stack: Settings, sample_video: Path) -> None:
    frames = [frame.rgb for frame in sample_frames(sample_video, 1.0, 1280, 720)]
    results = check(running_stack, frames)
    assert {result.network for result in results} == set(TOLERANCES)
    for result in results:
        assert result.passed, result
        assert result.max_abs <= 1e-4, result
