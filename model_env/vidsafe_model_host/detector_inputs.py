"""What each detector network is fed: the frames' resizing, padding and normalisation.

One definition, read by the detector's Triton model (nudity_preprocess, faces, ocr) and by the int8
calibration of ``vidsafe export`` (export/quantize.py), which must show each network what it sees when
served. numpy and OpenCV only, so the export can load this file outside Triton's python backend.
"""

from __future__ import annotations

import cv2
import numpy as np

NUDITY_SIZE = 320
OCR_DET_MIN_SIDE = 736  # The OCR detector sees the frame with its shorter side scaled up to at least this.
OCR_DET_MEAN = OCR_DET_STD = np.array([0.5, 0.5, 0.5])  # float64, as rapidocr normalises


def nudity_input(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[N, H, W, 3] uint8 RGB -> ([N, 3, 320, 320] float32 BGR blob, [N, 3] float32 (side, W, H)).

    nudenet 3.4.2 pads the frame bottom/right with black to a square, then ``cv2.dnn.blobFromImage``
    resizes it to 320x320 (bilinear), scales by 1/255 and swaps the channels. Its caller hands it BGR,
    which its own ``cvtColor(COLOR_RGBA2BGR)`` has already turned into RGB, so the network really receives
    BGR planes; from RGB frames the same ``blobFromImage(swapRB=True)`` call gives the same bytes.
    """
    _, height, width, _ = frames.shape
    side = max(height, width)
    padded = [
        cv2.copyMakeBorder(frame, 0, side - height, 0, side - width, cv2.BORDER_CONSTANT, value=0)
        for frame in frames
    ]
    # The very call nudenet makes, so interpolation and rounding match bit for bit.
    blob = cv2.dnn.blobFromImages(padded, 1 / 255.0, (NUDITY_SIZE, NUDITY_SIZE), (0, 0, 0), swapRB=True, crop=False)
    shape = np.tile(np.array([side, width, height], dtype=np.float32), (len(frames), 1))
    return blob.astype(np.float32, copy=False), shape


def padded_to_stride(side: int) -> int:
    """A side of YuNet's input: the frame's, padded up to a multiple of 32 (its largest stride)."""
    return -(-side // 32) * 32


def face_detector_size(height: int, width: int, max_side: int) -> tuple[int, int]:
    """The (width, height) YuNet sees a frame at: its own, or downscaled so its longer side is ``max_side``."""
    scale = min(1.0, max_side / max(height, width))
    return max(1, round(width * scale)), max(1, round(height * scale))


def face_detector_blob(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """[N, H, W, 3] RGB -> [N, 3, H', W'] BGR float32 at ``size`` (width, height), padded bottom/right to multiples
    of 32: the frame as OpenCV's FaceDetectorYN would see it with its input size set to ``size`` (0..255)."""
    _, height, width, _ = frames.shape
    if size != (width, height):
        frames = np.stack([cv2.resize(frame, size, interpolation=cv2.INTER_AREA) for frame in frames])
    padded_height, padded_width = padded_to_stride(size[1]), padded_to_stride(size[0])
    blob = np.zeros((len(frames), 3, padded_height, padded_width), dtype=np.float32)
    blob[:, :, : size[1], : size[0]] = frames[..., ::-1].transpose(0, 3, 1, 2)
    return blob


def ocr_det_size(image: np.ndarray) -> tuple[int, int]:
    """rapidocr 1.4.4's DetPreProcess.resize target (width, height): shorter side to >= 736, multiples of 32."""
    height, width = image.shape[:2]
    ratio = float(OCR_DET_MIN_SIDE) / min(height, width) if min(height, width) < OCR_DET_MIN_SIDE else 1.0
    return int(round(int(width * ratio) / 32) * 32), int(round(int(height * ratio) / 32) * 32)


def ocr_det_input(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """One BGR image -> the OCR detector's [3, H, W] float32 input at ``size``: (v / 255 - 0.5) / 0.5."""
    resized = cv2.resize(image, size)
    normalised = (resized.astype("float32") * (1 / 255.0) - OCR_DET_MEAN) / OCR_DET_STD
    return normalised.transpose((2, 0, 1)).astype(np.float32)


def ocr_det_blob(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """[N, H, W, 3] BGR images -> the OCR detector's [N, 3, H', W'] input at ``size``."""
    return np.stack([ocr_det_input(image, size) for image in images])
