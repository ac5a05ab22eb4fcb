"""Thumbnails as the review page shows them: the stored keyframe with the findings' boxes (and pose skeletons)
drawn at its scale, blurred for sensitive categories until the reviewer reveals it."""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from vidsafe.catalogue import Module, entry
from vidsafe.domain.findings import Finding
from vidsafe.policy import category_severity

# mediapipe's 33-landmark skeleton: shoulders, arms, torso, legs.
SKELETON = ((11, 12), (11, 13), (13, 15), (12, 14), (14, 16), (11, 23), (12, 24), (23, 24), (23, 25), (25, 27),
            (24, 26), (26, 28))
UNCOLOURED = (255, 255, 255)  # a module whose catalogue entry gives no colour
UNSEEN = (Module.speech, Module.text)  # what is said, or judged of text, is nothing to blur on screen
UNSEEN_TEXT = (Module.ocr, Module.speech)  # what a blurred stretch's text and words are read from


def is_sensitive(finding: Finding, severities: dict[str, float], min_severity: float) -> bool:
    """A finding of a category severe enough to be blurred until revealed (reviewer wellness)."""
    return category_severity(finding.module, finding.label, severities) >= min_severity


def annotate(jpeg: bytes, findings: Iterable[Finding], frame_size: tuple[int, int], blur: bool) -> bytes:
    """The thumbnail with the findings drawn (their coordinates are the frame's, ``frame_size`` = width, height),
    blurred beyond recognition when ``blur``; as PNG."""
    image = cv2.cvtColor(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    height, width = image.shape[:2]
    scale = width / max(1, frame_size[0])
    if blur:
        kernel = max(3, (max(height, width) // 6) | 1)
        image = cv2.GaussianBlur(image, (kernel, kernel), 0)
    for finding in findings:
        colour = entry(finding.module).colour_rgb or UNCOLOURED
        if finding.box is not None:
            x1, y1, x2, y2 = (round(v * scale) for v in finding.box)
            cv2.rectangle(image, (x1, y1), (x2, y2), colour, 2)
            cv2.putText(image, finding.label[:24], (x1 + 2, max(12, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1)
        landmarks = finding.attributes.get("landmarks") if finding.module == Module.pose else None
        if landmarks:
            points = [(round(p[0] * scale), round(p[1] * scale)) for p in landmarks]
            for a, b in SKELETON:
                if a < len(points) and b < len(points):
                    cv2.line(image, points[a], points[b], colour, 2)
    ok, png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    assert ok
    return png.tobytes()
