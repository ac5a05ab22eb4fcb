"""Videos of short shots with captions between the cuts, with their true cuts: what the cut detector is measured on."""

from __future__ import annotations

from pathlib import Path

import pytest

from vidsafe.export.sample_video import Caption, Scene, make_sample_video

SIZE = (640, 360)


# Shots of 1 to 1.6 s (cuts off the 0.5 s sampling grid), among them a cut between two grey pictures, which
# ContentDetector's hue and saturation do not see.
SHORT_SHOTS = (
    Scene("coffee", 0.0, 1.3, pan_px_s=0.0),
    Scene("astronaut", 1.3, 2.3, pan_px_s=0.0),
    Scene("rocket", 2.3, 3.9, pan_px_s=10.0),
    Scene("camera", 3.9, 5.1, pan_px_s=0.0),
    Scene("clock", 5.1, 6.2, pan_px_s=0.0),
    Scene("chelsea", 6.2, 7.2, pan_px_s=0.0),
    Scene("immunohistochemistry", 7.2, 8.7, pan_px_s=0.0),
    Scene("hubble_deep_field", 8.7, 9.8, zoom_per_s=0.05, pan_px_s=0.0),
    Scene("retina", 9.8, 10.9, pan_px_s=0.0),
    Scene("colorwheel", 10.9, 12.0, pan_px_s=0.0),
)


# Captions held one second, coming and going inside shots and across cuts, off the sampling grid.
SHORT_CAPTIONS = (
    Caption("ORDER NOW", 0.2, 1.2),
    Caption("CLICK HERE", 2.6, 3.6),
    Caption("WIN CASH TODAY", 4.4, 5.4),
    Caption("FREE TICKETS", 6.7, 7.7),
    Caption("MEET ME AT NOON", 9.1, 10.1),
    Caption("CALL 555 0199", 10.95, 11.95),
)


CUT_TOLERANCE_S = 0.15


@pytest.fixture(scope="module")
def short_shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sample_video(tmp_path_factory.mktemp("shots") / "short_shots.mp4", SHORT_SHOTS, speech=None,
                             captions=SHORT_CAPTIONS, size=SIZE)


def true_cuts() -> list[float]:
    return [scene.start_s for scene in SHORT_SHOTS[1:]]


def matched(found: list[float], expected: list[float]) -> list[float]:
    """The expected times that one of ``found`` is within the tolerance of."""
    return [t for t in expected if any(abs(t - f) <= CUT_TOLERANCE_S for f in found)]
