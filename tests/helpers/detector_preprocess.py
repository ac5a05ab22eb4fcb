"""The detectors' preprocessing test frames and the models that do it, for the DALI pipelines and the served models."""

from __future__ import annotations

import cv2
import numpy as np
from skimage import data

from vidsafe.export.quantize import detector_inputs

PREPROCESS_MODELS = ("face_detector_preprocess", "ocr_det_preprocess")


MAX_SIDE = 1280  # the faces model's max_side parameter


inputs = detector_inputs()


def _frames() -> dict[str, np.ndarray]:
    astronaut = data.astronaut()
    return {
        "astronaut": astronaut,
        "coffee": data.coffee(),
        "wide": np.ascontiguousarray(astronaut[100:300]),
        "text": np.ascontiguousarray(np.repeat(data.text()[..., None], 3, axis=2)),
        "noise_17x9": np.random.default_rng(7).integers(0, 256, (9, 17, 3), dtype=np.uint8),
        "astronaut_1920x1080": cv2.resize(astronaut, (1920, 1080)),  # past max_side: the faces model downscales it
    }


FRAMES = _frames()


def face_size(frame: np.ndarray) -> tuple[int, int]:
    return inputs.face_detector_size(*frame.shape[:2], MAX_SIDE)


def ocr_image(frame: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(frame[..., ::-1])  # the ocr model hands its detector BGR images
