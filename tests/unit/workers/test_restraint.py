"""The restraint rule on hand-made poses (no stack needed)."""

from __future__ import annotations

import pytest

from vidsafe.catalogue import Module
from vidsafe.domain.findings import Finding
from vidsafe.settings import Settings
from vidsafe.workers.clip import FRAME_LABEL
from vidsafe.workers.pose import LEFT_WRIST, RIGHT_WRIST
from vidsafe.workers.restraint import restraint_findings

FPS = 2.0


def _standing() -> list[list[float]]:
    """A person facing the camera, arms hanging at the sides, every point visible."""
    points = [[150.0, 50.0, 0.0, 0.99] for _ in range(33)]  # face points and the rest start at the nose
    for index, (x, y) in {11: (100, 100), 12: (200, 100), 13: (90, 150), 14: (210, 150), 15: (90, 200),
                          16: (210, 200), 23: (110, 220), 24: (190, 220)}.items():
        points[index] = [float(x), float(y), 0.0, 0.99]
    return points


def _with_wrists(left: tuple[float, float], right: tuple[float, float]) -> list[list[float]]:
    points = _standing()
    points[LEFT_WRIST][:2], points[RIGHT_WRIST][:2] = list(left), list(right)
    return points


def _pose(t: float, landmarks: list[list[float]], score: float = 1.0) -> Finding:
    return Finding(module=Module.pose, label="person", score=score, timestamp_s=t, frame_index=round(t * FPS),
                   box=(80, 40, 220, 230), attributes={"landmarks": landmarks})


def _clip(t: float, probability: float) -> Finding:
    """A frame's CLIP embedding finding, which carries every category's probability."""
    return Finding(module=Module.clip, label=FRAME_LABEL, score=1.0, timestamp_s=t, frame_index=round(t * FPS),
                   attributes={"probabilities": {"restraint": probability, "neutral": 1 - probability}})


TIED = _with_wrists((147, 200), (153, 200))
HANDS_UP = _with_wrists((120, 0), (180, 0))


def _rule(findings: list[Finding]) -> list[Finding]:
    return restraint_findings(findings, FPS, threshold=0.5, settings=Settings())


def test_wrists_held_together_over_time_is_flagged() -> None:
    found = _rule([_pose(t, TIED) for t in (1.0, 1.5, 2.0)])
    assert [f.timestamp_s for f in found] == [1.0, 1.5, 2.0]
    assert all(f.module == Module.restraint and f.score == pytest.approx(0.7) for f in found)
    assert found[0].attributes["cues"] == ["wrists_together"] and found[0].box == (80, 40, 220, 230)


def test_a_single_moment_is_not_sustained() -> None:
    assert _rule([_pose(1.0, TIED), _pose(1.5, _standing()), _pose(3.0, TIED)]) == []


def test_standing_person_is_not_flagged() -> None:
    assert _rule([_pose(t, _standing()) for t in (0.0, 0.5, 1.0, 1.5)]) == []


def test_arms_above_head_and_low_confidence_people() -> None:
    assert len(_rule([_pose(t, HANDS_UP) for t in (0.0, 0.5)])) == 2
    # The pose model's own doubt that a person is there scales the cue down below the threshold.
    assert _rule([_pose(t, HANDS_UP, score=0.7) for t in (0.0, 0.5)]) == []


def test_clip_and_pose_cues_combine() -> None:
    # Neither is enough alone at this threshold, together they are: 1 - (1 - 0.42) * (1 - 0.3) = 0.594.
    pose_only = [_pose(t, HANDS_UP, score=0.7) for t in (0.0, 0.5)]
    clip_only = [_clip(t, 0.3) for t in (0.0, 0.5)]
    assert _rule(clip_only) == []
    combined = _rule(pose_only + clip_only)
    assert [f.score for f in combined] == [pytest.approx(0.594)] * 2
    assert combined[0].attributes == {"cues": ["arms_above_head"], "pose_cue": 0.42, "clip_cue": 0.3}


def test_clip_alone_raises_it_without_a_person() -> None:
    found = _rule([_clip(t, 0.8) for t in (4.0, 4.5, 5.0)])
    assert [f.score for f in found] == [0.8] * 3 and found[0].box is None
