"""Body pose on sampled frames through the Triton ``pose`` model (BlazePose, 33 landmarks, one person per
frame), and the pose cues the restraint rule reads from those landmarks.

A finding's ``attributes["landmarks"]`` holds 33 rows ``[x, y, z, visibility]`` in mediapipe's order
(0 nose, 11/12 shoulders, 13/14 elbows, 15/16 wrists, 23/24 hips, ...; "left" is the person's left).
x and y are frame pixels and may lie outside the frame (the model places hidden joints too); z is depth
on the same pixel scale, 0 at the mid-hip, smaller is nearer the camera, and far rougher than x and y;
visibility is the model's likelihood, 0..1, that the point is in the frame and not occluded.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vidsafe.catalogue import Module
from vidsafe.domain.findings import Finding
from vidsafe.media.decoding import SampledFrame
from vidsafe.triton import Tensors
from vidsafe.workers.stages import FrameStage

FACE = range(0, 11)  # nose, eyes, ears, mouth
LEFT_SHOULDER, RIGHT_SHOULDER = 11, 12
LEFT_ELBOW, RIGHT_ELBOW = 13, 14
LEFT_WRIST, RIGHT_WRIST = 15, 16
LEFT_HIP, RIGHT_HIP = 23, 24
Z, VISIBILITY = 2, 3  # columns of a landmark row (x and y are 0 and 1)
VISIBLE = 0.5  # mediapipe's own drawing threshold

Landmarks = Sequence[Sequence[float]]  # 33 x [x, y, z, visibility], as a finding's attributes hold them


class PoseStage(FrameStage):
    module = Module.pose
    outputs = ("LANDMARKS", "BOXES", "SCORES", "COUNT")

    def frame_findings(self, outputs: Tensors, item: int, frame: SampledFrame) -> list[Finding]:
        if not outputs["COUNT"][item, 0] or outputs["SCORES"][item, 0] < self.min_score:
            return []
        return [self.finding(frame, label="person", score=float(outputs["SCORES"][item, 0]),
                             box=tuple(float(v) for v in outputs["BOXES"][item, 0]),
                             attributes={"landmarks": [[round(float(x), 2), round(float(y), 2), round(float(z), 2),
                                                        round(float(visibility), 4)]
                                                       for x, y, z, visibility in outputs["LANDMARKS"][item, 0]]})]


# Pose cues for the restraint rule. Each takes one finding's landmarks and needs the points it reads
# in the image plane to be visible (>= ``min_visibility``).


def _points(landmarks: Landmarks) -> np.ndarray:
    points = np.asarray(landmarks, dtype=np.float64)
    if points.shape != (33, 4):
        raise ValueError(f"expected 33 landmarks of [x, y, z, visibility], got shape {points.shape}")
    return points


def _visible(points: np.ndarray, indices: Sequence[int], min_visibility: float) -> bool:
    return bool(np.all(points[list(indices), VISIBILITY] >= min_visibility))


def wrist_gap(landmarks: Landmarks) -> float:
    """Distance between the wrists in the image, in shoulder widths (inf if the shoulders coincide)."""
    points = _points(landmarks)
    shoulders = np.linalg.norm(points[LEFT_SHOULDER, :2] - points[RIGHT_SHOULDER, :2])
    gap = np.linalg.norm(points[LEFT_WRIST, :2] - points[RIGHT_WRIST, :2])
    return float(gap / shoulders) if shoulders > 0 else float("inf")


def wrists_together(landmarks: Landmarks, max_gap: float = 0.5, min_visibility: float = VISIBLE) -> bool:
    """Both wrists visible and held within ``max_gap`` shoulder widths of each other (as if tied)."""
    points = _points(landmarks)
    return (_visible(points, (LEFT_WRIST, RIGHT_WRIST, LEFT_SHOULDER, RIGHT_SHOULDER), min_visibility)
            and wrist_gap(points) <= max_gap)


def arms_behind_back(landmarks: Landmarks, min_visibility: float = VISIBLE) -> bool:
    """Both arms held behind the back: shoulders visible and, on each side, the elbow farther from the
    camera than its shoulder (bent back) and the wrist farther than the torso (the mean depth of
    shoulders and hips). A hidden wrist alone is no evidence: a frame cut at the waist hides both wrists
    of a person whose hands hang in front. z is the model's roughest output: treat this as a weak cue."""
    points = _points(landmarks)
    if not _visible(points, (LEFT_SHOULDER, RIGHT_SHOULDER), min_visibility):
        return False
    torso_z = points[[LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP], Z].mean()
    return all(points[elbow, Z] > points[shoulder, Z] and points[wrist, Z] > torso_z
               for shoulder, elbow, wrist in ((LEFT_SHOULDER, LEFT_ELBOW, LEFT_WRIST),
                                              (RIGHT_SHOULDER, RIGHT_ELBOW, RIGHT_WRIST)))


def arms_above_head(landmarks: Landmarks, min_visibility: float = VISIBLE) -> bool:
    """Both wrists visible and above the head: farther along the body's own up axis (mid-hip to
    mid-shoulder, so a lying person counts too) than every face landmark."""
    points = _points(landmarks)
    if not _visible(points, (LEFT_WRIST, RIGHT_WRIST), min_visibility):
        return False
    hips = points[[LEFT_HIP, RIGHT_HIP], :2].mean(axis=0)
    up = points[[LEFT_SHOULDER, RIGHT_SHOULDER], :2].mean(axis=0) - hips
    if not np.any(up):
        return False
    height = (points[:, :2] - hips) @ (up / np.linalg.norm(up))
    return bool(min(height[LEFT_WRIST], height[RIGHT_WRIST]) > height[list(FACE)].max())
