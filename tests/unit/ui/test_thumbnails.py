"""Thumbnails as the review page shows them (ui/thumbnails.py): boxes at scale, sensitive ones blurred."""

from __future__ import annotations

import cv2
import numpy as np

from tests.helpers.support import finding
from vidsafe.catalogue import Module
from vidsafe.ui import thumbnails


def test_thumbnails_get_their_boxes_at_scale_and_sensitive_ones_are_blurred() -> None:
    frame = np.zeros((90, 160, 3), np.uint8)
    frame[30:60, 60:100] = 255  # a white square, sharp-edged
    jpeg = cv2.imencode(".jpg", frame)[1].tobytes()
    box = finding(Module.nudity, "BUTTOCKS_EXPOSED", 1.0, 0.9, box=(120.0, 60.0, 200.0, 120.0))  # in 320x180 pixels

    def decoded(png: bytes) -> np.ndarray:
        return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)

    sharp = decoded(thumbnails.annotate(jpeg, [box], (320, 180), blur=False))
    assert tuple(sharp[45, 60]) != tuple(frame[45, 60]), "the box is drawn at half scale, on the square's edge"
    blurred = decoded(thumbnails.annotate(jpeg, [], (320, 180), blur=True))
    assert np.abs(np.diff(blurred[45].astype(int), axis=0)).max() < 60, "no sharp edge survives the blur"
    severities = {"nudity:BUTTOCKS_EXPOSED": 0.8, "nudity:BUTTOCKS_COVERED": 0.2}
    assert thumbnails.is_sensitive(box, severities, 0.5)
    assert not thumbnails.is_sensitive(box.model_copy(update={"label": "BUTTOCKS_COVERED"}), severities, 0.5)
