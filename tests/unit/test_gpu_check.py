"""benchmarks/gpu_check.py's comparison: a difference past the tolerance fails."""

from __future__ import annotations

import numpy as np

from benchmarks.gpu_check import _compare


def test_a_difference_beyond_tolerance_fails() -> None:
    expected = np.random.default_rng(0).random((4, 100)).astype(np.float32)
    assert _compare("ocr_cls", expected, expected + 0.01).passed
    assert not _compare("ocr_cls", expected, expected + 0.1).passed
    assert not _compare("face_embedder", expected, expected[::-1]).passed
