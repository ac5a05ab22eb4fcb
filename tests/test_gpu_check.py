"""deploy/gpu/check.sh's parity check (benchmarks/gpu_check.py), run here against the cpu profile: it must find
every served network and the nudity preprocessing equal to their references, and tell a difference apart."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.gpu_check import TOLERANCES, _compare, check
from vidsafe.media.decoding import sample_frames
from vidsafe.settings import Settings


def test_cpu_profile_is_its_own_reference(running_stack: Settings, sample_video: Path) -> None:
    frames = [frame.rgb for frame in sample_frames(sample_video, 1.0, 1280, 720)]
    results = check(running_stack, frames)
    assert {result.network for result in results} == set(TOLERANCES)
    for result in results:
        assert result.passed, result
        assert result.max_abs <= 1e-4, result


def test_a_difference_beyond_tolerance_fails() -> None:
    expected = np.random.default_rng(0).random((4, 100)).astype(np.float32)
    assert _compare("ocr_cls", expected, expected + 0.01).passed
    assert not _compare("ocr_cls", expected, expected + 0.1).passed
    assert not _compare("face_embedder", expected, expected[::-1]).passed
