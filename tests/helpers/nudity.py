"""The nudity models' names and outputs, and the reference detector (NudeNet) in-process."""

from __future__ import annotations

import pytest
from nudenet import NudeDetector

MODELS = ("nudity", "nudity_preprocess", "nudity_detector", "nudity_postprocess")


OUTPUTS = ("BOXES", "SCORES", "LABELS", "COUNT")


@pytest.fixture(scope="module")
def detector() -> NudeDetector:
    return NudeDetector()
