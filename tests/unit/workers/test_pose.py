"""The pose stage's cues (workers/pose.py) on hand-made poses and on the reference photos."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers.pose import PEOPLE, REFERENCE
from vidsafe.workers import pose
from vidsafe.workers.pose import arms_above_head, arms_behind_back, wrist_gap, wrists_together


def _standing() -> np.ndarray:
    """A hand-made person facing the camera in a 640x480 frame, arms hanging, everything visible. Their
    left is the image's right. z: face nearest, hips 0."""
    landmarks = np.zeros((33, 4))
    landmarks[:, 3] = 0.99
    points = {
        0: (320, 100, -60), 1: (327, 92, -55), 2: (331, 92, -55), 3: (335, 92, -55), 4: (313, 92, -55),
        5: (309, 92, -55), 6: (305, 92, -55), 7: (342, 96, -30), 8: (298, 96, -30), 9: (326, 112, -55),
        10: (314, 112, -55), 11: (360, 150, -20), 12: (280, 150, -20), 13: (372, 222, -15), 14: (268, 222, -15),
        15: (380, 290, -25), 16: (260, 290, -25), 17: (384, 305, -28), 18: (256, 305, -28), 19: (382, 308, -30),
        20: (258, 308, -30), 21: (376, 300, -28), 22: (264, 300, -28), 23: (345, 300, 2), 24: (295, 300, -2),
        25: (345, 390, 5), 26: (295, 390, 5), 27: (345, 470, 20), 28: (295, 470, 20), 29: (345, 478, 25),
        30: (295, 478, 25), 31: (345, 480, 0), 32: (295, 480, 0),
    }
    for index, point in points.items():
        landmarks[index, :3] = point
    return landmarks


def _with(landmarks: np.ndarray, **changes: tuple[float, ...]) -> np.ndarray:
    """A copy with some landmarks changed, named as in workers.pose (LEFT_WRIST=(x, y, z, visibility))."""
    changed = landmarks.copy()
    for name, values in changes.items():
        changed[getattr(pose, name), :len(values)] = values
    return changed


def _rotated(landmarks: np.ndarray, degrees: float) -> np.ndarray:
    """The same pose turned in the image plane about the frame centre (a person lying down)."""
    turn = np.radians(degrees)
    matrix = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    turned = landmarks.copy()
    turned[:, :2] = (landmarks[:, :2] - (320, 240)) @ matrix.T + (320, 240)
    return turned


STANDING = _standing()


HANDS_TIED_IN_FRONT = _with(STANDING, LEFT_ELBOW=(350, 215), RIGHT_ELBOW=(290, 215),
                            LEFT_WRIST=(325, 262), RIGHT_WRIST=(315, 262))


ARMS_UP = _with(STANDING, LEFT_ELBOW=(385, 95), RIGHT_ELBOW=(255, 95), LEFT_WRIST=(372, 40), RIGHT_WRIST=(268, 40))


ARMS_BEHIND = _with(STANDING, LEFT_ELBOW=(368, 225, 35), RIGHT_ELBOW=(272, 225, 35),
                    LEFT_WRIST=(330, 290, 45, 0.1), RIGHT_WRIST=(310, 290, 45, 0.1))


@pytest.mark.parametrize(("landmarks", "together", "behind", "above"), [
    (STANDING, False, False, False),
    (HANDS_TIED_IN_FRONT, True, False, False),
    (ARMS_UP, False, False, True),
    (ARMS_BEHIND, False, True, False),
    (_rotated(HANDS_TIED_IN_FRONT, 90), True, False, False),
    (_rotated(ARMS_UP, 90), False, False, True),  # lying down: "above the head" follows the body
    (_rotated(ARMS_UP, 180), False, False, True),
    (_rotated(STANDING, -90), False, False, False),
])
def test_cues_on_hand_made_poses(landmarks: np.ndarray, together: bool, behind: bool, above: bool) -> None:
    assert (wrists_together(landmarks), arms_behind_back(landmarks), arms_above_head(landmarks)) == \
        (together, behind, above)


def test_cues_need_both_arms_and_visible_points() -> None:
    one_arm_up = _with(STANDING, LEFT_ELBOW=(385, 95), LEFT_WRIST=(372, 40))
    assert not arms_above_head(one_arm_up)
    assert not arms_above_head(_with(ARMS_UP, RIGHT_WRIST=(268, 40, -25, 0.2)))
    assert not wrists_together(_with(HANDS_TIED_IN_FRONT, LEFT_WRIST=(325, 262, -25, 0.3)))
    assert wrists_together(_with(HANDS_TIED_IN_FRONT, LEFT_WRIST=(325, 262, -25, 0.3)), min_visibility=0.2)
    assert not arms_behind_back(_with(ARMS_BEHIND, RIGHT_ELBOW=(272, 225, -30)))  # that elbow is in front
    assert not arms_behind_back(_with(ARMS_BEHIND, LEFT_WRIST=(330, 290, -40, 0.1)))  # hidden, but in front
    assert not arms_behind_back(_with(ARMS_BEHIND, LEFT_SHOULDER=(360, 150, -20, 0.1)))


def test_wrist_gap_is_in_shoulder_widths() -> None:
    assert wrist_gap(STANDING) == pytest.approx(120 / 80)
    assert wrist_gap(HANDS_TIED_IN_FRONT) == pytest.approx(10 / 80)
    assert wrists_together(HANDS_TIED_IN_FRONT, max_gap=0.1) is False
    assert wrist_gap(STANDING.tolist()) == wrist_gap(STANDING), "a finding's JSON lists work as well"
    with pytest.raises(ValueError, match="33 landmarks"):
        wrist_gap(STANDING[:17])


@pytest.mark.parametrize("name", PEOPLE)
def test_no_cue_on_the_reference_photos(name: str) -> None:
    # Nobody in these photos is restrained: mediapipe's own landmarks must raise none of the cues. (The
    # astronaut's hands are cut off by the frame: hidden wrists alone must not read as arms behind the back.)
    landmarks = REFERENCE[name]["landmarks"]
    assert (wrists_together(landmarks), arms_behind_back(landmarks), arms_above_head(landmarks)) == \
        (False, False, False)
