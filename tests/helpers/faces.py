"""The faces models' test frames (photos placed at known sizes) and the reference (OpenCV's FaceDetectorYN and
FaceRecognizerSF on the original quantized files) to compare the served models with."""

from __future__ import annotations

import subprocess

import cv2
import numpy as np
import pytest
from skimage import data

from tests.helpers.model_configs import REPOSITORY, load_config
from vidsafe.deploy.tritonserver import ensure_model_env
from vidsafe.settings import Settings

ORIGINALS = {"face_detector": "yunet_int8bq.onnx", "face_embedder": "sface_int8bq.onnx"}  # as exported


NETWORKS = tuple(ORIGINALS)


def place_photo(image: np.ndarray, height: int, width: int, top: int, left: int) -> np.ndarray:
    canvas = np.full((height, width, 3), 30, dtype=np.uint8)
    canvas[top:top + image.shape[0], left:left + image.shape[1]] = image
    return canvas


def _frames() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20240602)
    astronaut = data.astronaut()
    mirrored = np.ascontiguousarray(astronaut[:, ::-1])
    camera = np.repeat(data.camera()[..., None], 3, axis=2)
    return {
        "astronaut": astronaut,
        "astronaut_mirrored": mirrored,
        "astronaut_small": np.ascontiguousarray(astronaut[::2, ::2]),
        "crop_wide": np.ascontiguousarray(astronaut[20:300, 60:500]),
        "crop_tall": np.ascontiguousarray(astronaut[:, 150:350]),
        "face_cut_by_edge": np.ascontiguousarray(astronaut[40:300, 215:]),
        "mosaic": np.concatenate([np.concatenate([astronaut, mirrored], axis=1),
                                  np.concatenate([camera, astronaut[::2, ::2].repeat(2, 0).repeat(2, 1)], axis=1)]),
        "camera_grey": camera,
        "coffee": data.coffee(),
        "chelsea": data.chelsea(),
        "noise": rng.integers(0, 256, (240, 320, 3), dtype=np.uint8),
        "noise_512": rng.integers(0, 256, (512, 512, 3), dtype=np.uint8),
        "tiny_17x9": rng.integers(0, 256, (9, 17, 3), dtype=np.uint8),
        # Longer side over max_side: detection runs on the frame downscaled to 1280 wide.
        "large_1600x900": place_photo(cv2.resize(astronaut, (768, 768)), 900, 1600, 60, 500),
    }


FRAMES = _frames()


FACES_PARAMETERS = {key: value.string_value for key, value in load_config("faces").parameters.items()}


# The reference: OpenCV 4.11's FaceDetectorYN and FaceRecognizerSF on the original quantized files. A frame
# over max_side is detected downscaled (INTER_AREA, as served) and its faces scaled back; alignment always
# reads the full frame.
REFERENCE_SCRIPT = """
import sys
import cv2
import numpy as np

frames_path, detector_path, embedder_path, out_path, score, nms, top_k, max_side = sys.argv[1:]
recognizer = cv2.FaceRecognizerSF.create(embedder_path, "")
results = {}
with np.load(frames_path) as frames:
    for name in frames.files:
        bgr = np.ascontiguousarray(frames[name][..., ::-1])
        height, width = bgr.shape[:2]
        scale = min(1.0, int(max_side) / max(height, width))
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA) if scale < 1 else bgr
        detector = cv2.FaceDetectorYN.create(detector_path, "", size, float(score), float(nms), int(top_k))
        faces = detector.detect(small)[1]
        faces = np.zeros((0, 15), np.float32) if faces is None else faces
        faces[:, 0:14:2] *= width / size[0]
        faces[:, 1:14:2] *= height / size[1]
        results[name + "/faces"] = faces
        results[name + "/features"] = np.array(
            [recognizer.feature(recognizer.alignCrop(bgr, face)).ravel() for face in faces], np.float32
        ).reshape(-1, 128)
np.savez(out_path, **results)
"""


Face = tuple[float, np.ndarray, np.ndarray, np.ndarray]  # score, box x1y1x2y2, landmarks [5, 2], embedding


@pytest.fixture(scope="module")
def reference(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Face]]:
    folder = tmp_path_factory.mktemp("faces_reference")
    np.savez(folder / "frames.npz", **FRAMES)
    python = ensure_model_env(stack_settings) / "python"
    subprocess.run([str(python), "-c", REFERENCE_SCRIPT, str(folder / "frames.npz"),
                    *(str(REPOSITORY / model / "1" / original) for model, original in ORIGINALS.items()),
                    str(folder / "reference.npz"), *(FACES_PARAMETERS[key] for key in
                                                     ("score_threshold", "nms_threshold", "top_k", "max_side"))],
                   check=True)
    with np.load(folder / "reference.npz") as results:
        return {name: [from_reference(face, feature, frame.shape) for face, feature in
                       zip(results[name + "/faces"], results[name + "/features"], strict=True)]
                for name, frame in FRAMES.items()}


def from_reference(face: np.ndarray, feature: np.ndarray, shape: tuple[int, ...]) -> Face:
    """An OpenCV row (x, y, w, h, 5 landmarks, score) -> a served face: corners clipped to the frame,
    the feature at unit length."""
    height, width = shape[:2]
    box = np.clip([face[0], face[1], face[0] + face[2], face[1] + face[3]], 0, [width, height, width, height])
    return float(face[14]), box, face[4:14].reshape(5, 2), feature / np.linalg.norm(feature)
