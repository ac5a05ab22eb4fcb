"""BlazePose 33-point body landmarks, computed as mediapipe 0.10.21's legacy pose solution computes them
(``mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1)``), with both .tflite models run
by LiteRT.

Per frame, as mediapipe's PoseLandmarkCpu graph does without tracking:
1. PoseDetectionCpu: the frame letterboxed to 224x224 in [-1, 1] (ImageToTensorCalculator), the
   detector, SSD anchor decoding of boxes and 4 keypoints (TensorsToDetectionsCalculator), weighted
   NMS, letterbox removal. Only the best detection is used.
2. PoseDetectionToRoi: a square ROI centred on keypoint 0 (mid-hip), twice its distance to keypoint 1
   wide, times 1.25, rotated so that keypoint 0 -> 1 points up.
3. PoseLandmarkByRoiCpu: that rotated ROI warped to 256x256 in [0, 1], the full landmark model, its
   pose-presence flag (no landmarks below the threshold), landmarks refined from the heatmap, then
   projected back to frame pixels.

Each step below names the calculator it reproduces; quirks are kept on purpose, for parity.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import triton_python_backend_utils as pb_utils
from ai_edge_litert.interpreter import Interpreter

DETECTOR_SIZE = 224
LANDMARK_SIZE = 256
# SsdAnchorsCalculator options of pose_detection: (stride, anchors per cell). Layers 2-4 share stride 32,
# so their 3 x 2 anchors share one 7x7 grid.
ANCHOR_LAYERS = ((8, 2), (16, 2), (32, 6))
NUM_LANDMARKS = 33  # the model predicts 39; the last 6 are auxiliary points mediapipe uses for tracking
LANDMARK_VALUES = 5  # x, y, z, visibility, presence (raw)
HEATMAP_KERNEL = 9  # the 0.10.21 graph's option (older graphs on GitHub say 7)
HEATMAP_MIN_CONFIDENCE = 0.5
NMS_IOU_THRESHOLD = 0.3
ROI_SCALE = 1.25

F32 = np.float32
Roi = tuple[float, float, float, float, float]  # centre x, centre y, width, height in pixels; rotation (rad)


def ssd_anchors() -> np.ndarray:
    """[2254, 2] anchor centres (x, y) in [0, 1], in the detector's output order (fixed size 1x1)."""
    centres = []
    for stride, per_cell in ANCHOR_LAYERS:
        cells = -(-DETECTOR_SIZE // stride)
        grid = (np.arange(cells, dtype=np.float32) + np.float32(0.5)) / np.float32(cells)
        y, x = np.meshgrid(grid, grid, indexing="ij")
        centres.append(np.repeat(np.stack([x.ravel(), y.ravel()], axis=1), per_cell, axis=0))
    return np.concatenate(centres)


LAYER_ANCHORS = tuple((-(-DETECTOR_SIZE // stride)) ** 2 * per_cell for stride, per_cell in ANCHOR_LAYERS)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) in float32, as mediapipe's C++: its expf is correctly rounded, numpy's float32
    exp can be an ulp off, and detection scores weight the keypoints that place the crop."""
    with np.errstate(over="ignore"):  # exp(100) is inf in float32, so the sigmoid is 0, as in mediapipe
        e = np.exp(-np.asarray(x, dtype=np.float64)).astype(np.float32)
    return F32(1) / (F32(1) + e)


def warp(frame: np.ndarray, roi: Roi, size: int, border: int, value_range: tuple[float, float]) -> np.ndarray:
    """ImageToTensorCalculator's OpenCV path: the rotated ROI's corners are mapped onto the tensor's
    corners by a perspective warp (bilinear, on uint8, so values round as mediapipe's do), then the
    0..255 values are scaled linearly into ``value_range``."""
    cx, cy, width, height, rotation = roi
    degrees = float(F32(rotation) * F32(180)) / math.pi  # float * 180.f / M_PI, as mediapipe
    corners = cv2.boxPoints(((cx, cy), (width, height), degrees))
    target = np.array([[0, size], [0, 0], [size, 0], [size, size]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(corners, target)
    warped = cv2.warpPerspective(frame, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=border)
    # OpenCV's convertTo(scale, offset) rounds x * scale + offset once (a fused multiply-add): exact in
    # float64, then rounded to float32.
    scale, offset = float(F32((value_range[1] - value_range[0]) / 255.0)), float(F32(value_range[0]))
    return (warped * scale + offset).astype(np.float32)


def square(width: np.float32, height: np.float32) -> tuple[np.float32, np.float32, np.float32]:
    """PadRoi for a square tensor: the side of the padded square, and the horizontal and vertical
    padding on each side as a fraction of it (float32, as mediapipe computes them)."""
    aspect = height / width
    if F32(1) > aspect:
        return width, F32(0), (F32(1) - aspect) / F32(2)
    return height, (F32(1) - F32(1) / aspect) / F32(2), F32(0)


def detector_input(frame: np.ndarray) -> np.ndarray:
    height, width = F32(frame.shape[0]), F32(frame.shape[1])
    side, _, _ = square(width, height)
    return warp(frame, (width / 2, height / 2, side, side, 0.0), DETECTOR_SIZE, cv2.BORDER_CONSTANT, (-1.0, 1.0))


def unbatch_detector(raw: np.ndarray, batch: int) -> np.ndarray:
    """[1, batch * 2254, C] -> [batch, 2254, C]. The detector's graph reshapes each feature map with a
    fixed batch of 1, so a batch comes out layer-major: every frame's 28x28 anchors, then 14x14, 7x7."""
    parts = np.split(raw[0], np.cumsum(LAYER_ANCHORS[:-1]) * batch)
    return np.concatenate([part.reshape(batch, count, -1) for part, count in zip(parts, LAYER_ANCHORS, strict=True)],
                          axis=1)


def best_detection(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray,
                   min_score: float) -> tuple[np.ndarray, float] | None:
    """The first detection mediapipe keeps, as (4 keypoints [4, 2] in [0, 1] of the letterboxed square,
    score), or None.

    TensorsToDetectionsCalculator: offsets are in 224-px units from the anchor centre, the score is a
    sigmoid of the clipped logit, and boxes below ``min_score`` or of negative size are dropped.
    NonMaxSuppressionCalculator (WEIGHTED, IoU 0.3): the best candidate's keypoints become the
    score-weighted mean over the candidates overlapping it by more than 0.3 (itself included), summed in
    descending score order in float32 as mediapipe does, since the ROI, and so the crop, depend on every
    bit. SplitDetectionVectorCalculator then keeps that first detection only.
    """
    scores = sigmoid(np.clip(raw_scores[:, 0], F32(-100), F32(100)))
    centres = raw_boxes[:, 0:2] / F32(DETECTOR_SIZE) + anchors
    sizes = raw_boxes[:, 2:4] / F32(DETECTOR_SIZE)
    keep = (scores >= F32(min_score)) & np.all(sizes >= 0, axis=1)
    if not keep.any():
        return None
    order = np.flatnonzero(keep)[np.argsort(-scores[keep], kind="stable")]
    best = order[0]
    low = np.maximum(centres[order] - sizes[order] / F32(2), centres[best] - sizes[best] / F32(2))
    high = np.minimum(centres[order] + sizes[order] / F32(2), centres[best] + sizes[best] / F32(2))
    intersection = np.prod(np.clip(high - low, F32(0), None), axis=1)
    union = np.prod(sizes[order], axis=1) + np.prod(sizes[best]) - intersection
    overlap = np.divide(intersection, union, out=np.zeros_like(union), where=union > 0)
    total, weighted = F32(0), np.zeros((4, 2), dtype=np.float32)
    for index in order[overlap > F32(NMS_IOU_THRESHOLD)]:
        total += scores[index]
        weighted += (raw_boxes[index, 4:12].reshape(4, 2) / F32(DETECTOR_SIZE) + anchors[index]) * scores[index]
    if total == 0:  # a zero-size best box overlaps nothing, itself included: mediapipe keeps it as it is
        return raw_boxes[best, 4:12].reshape(4, 2) / F32(DETECTOR_SIZE) + anchors[best], float(scores[best])
    return weighted / total, float(scores[best])


def pose_roi(keypoints: np.ndarray, width: int, height: int) -> Roi | None:
    """The ROI in frame pixels from the detection's keypoints in the letterboxed square, in float32 step
    by step as mediapipe: DetectionLetterboxRemovalCalculator, then PoseDetectionToRoi
    (AlignmentPointsRectsCalculator: centre at keypoint 0, side twice its distance to keypoint 1, rotated
    so that 0 -> 1 points up; RectTransformationCalculator: square on the long side, times 1.25), then
    ImageToTensorCalculator's GetRoi and PadRoi."""
    w, h = F32(width), F32(height)
    _, pad_x, pad_y = square(w, h)
    points = (keypoints - (pad_x, pad_y)) / (F32(1) - (pad_x + pad_x), F32(1) - (pad_y + pad_y))
    (x0, y0), (x1, y1) = points[0] * (w, h), points[1] * (w, h)
    box = F32(float(np.sqrt((x1 - x0) * (x1 - x0) + (y1 - y0) * (y1 - y0))) * 2.0)
    if not box > 0:
        return None  # ImageToTensorCalculator refuses an empty ROI
    rotation = F32(math.pi * 90 / 180) - F32(math.atan2(-(y1 - y0), x1 - x0))
    rotation = F32(rotation - 2 * math.pi * math.floor((rotation + math.pi) / (2 * math.pi)))  # NormalizeRadians
    long_side = max(box / w * w, box / h * h)
    side_x, side_y = long_side / w * F32(ROI_SCALE) * w, long_side / h * F32(ROI_SCALE) * h
    side, _, _ = square(side_x, side_y)
    return x0 / w * w, y0 / h * h, side, side, float(rotation)


def refine_from_heatmap(xy: np.ndarray, heatmap: np.ndarray) -> np.ndarray:
    """RefineLandmarksFromHeatmapCalculator: a landmark whose 9x9 heatmap window (at its truncated cell,
    cut at the edges) holds a sigmoid >= 0.5 moves to the window's sigmoid-weighted mean cell (no
    half-cell offset, as in mediapipe); one outside the heatmap stays."""
    rows, cols, _ = heatmap.shape
    refined = xy.copy()
    offset = (HEATMAP_KERNEL - 1) // 2
    for index, (x, y) in enumerate(xy):
        col, row = int(np.float32(x) * np.float32(cols)), int(np.float32(y) * np.float32(rows))
        if not (0 <= col < cols and 0 <= row < rows):
            continue
        window = sigmoid(heatmap[max(0, row - offset):min(rows, row + offset + 1),
                                 max(0, col - offset):min(cols, col + offset + 1), index]).astype(np.float64)
        total = window.sum()
        if window.max() < HEATMAP_MIN_CONFIDENCE or total <= 0:
            continue
        grid_rows, grid_cols = np.mgrid[max(0, row - offset):min(rows, row + offset + 1),
                                        max(0, col - offset):min(cols, col + offset + 1)]
        refined[index] = ((grid_cols * window).sum() / cols / total, (grid_rows * window).sum() / rows / total)
    return refined


def project_landmarks(raw: np.ndarray, heatmap: np.ndarray, roi: Roi) -> np.ndarray:
    """[33, 4] landmarks in frame pixels: x, y, z (depth, same scale as x, smaller is nearer the
    camera, 0 at the mid-hip) and visibility, from one crop's raw landmark and heatmap outputs.

    TensorsToLandmarksCalculator (x, y, z / 256, sigmoid visibility), heatmap refinement, then
    LandmarkProjectionCalculator: rotate about the crop centre, scale by the ROI and shift to it.
    """
    values = raw.reshape(-1, LANDMARK_VALUES)[:NUM_LANDMARKS].astype(np.float64)
    xy = refine_from_heatmap(values[:, :2] / LANDMARK_SIZE, heatmap[..., :NUM_LANDMARKS])
    cx, cy, width, height, rotation = roi
    cos, sin = math.cos(rotation), math.sin(rotation)
    x, y = xy[:, 0] - 0.5, xy[:, 1] - 0.5
    return np.stack([
        (cos * x - sin * y) * width + cx,
        (sin * x + cos * y) * height + cy,
        values[:, 2] / LANDMARK_SIZE * width,
        sigmoid(values[:, 3]),
    ], axis=1).astype(np.float32)


class LiteRtModel:
    """One .tflite model, run on a whole batch per invoke; the input is resized when the batch size
    changes (the size of a busy stream's batches repeats, so re-allocation is rare)."""

    def __init__(self, path: Path, threads: int) -> None:
        if not path.is_file():
            raise pb_utils.TritonModelException(f"{path} is missing: export the models first (vidsafe export)")
        self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
        self.input = self.interpreter.get_input_details()[0]["index"]
        self.outputs = {o["name"]: o["index"] for o in self.interpreter.get_output_details()}
        self.shape: tuple[int, ...] = ()

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        if batch.shape != self.shape:
            self.interpreter.resize_tensor_input(self.input, list(batch.shape))
            self.interpreter.allocate_tensors()
            self.shape = batch.shape
        self.interpreter.set_tensor(self.input, batch)
        self.interpreter.invoke()
        return {name: self.interpreter.get_tensor(index) for name, index in self.outputs.items()}


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        config = json.loads(args["model_config"])
        parameters = config.get("parameters", {})

        def parameter(key: str, default: str) -> str:
            return parameters.get(key, {}).get("string_value", default)

        self.min_detection_score = float(parameter("min_detection_confidence", "0.5"))
        self.min_presence_score = float(parameter("min_tracking_confidence", "0.5"))
        threads = int(parameter("threads", "2"))
        folder = Path(args["model_repository"]) / args["model_version"]
        self.detector = LiteRtModel(folder / "pose_detection.tflite", threads)
        self.landmarker = LiteRtModel(folder / "pose_landmark_full.tflite", threads)
        self.anchors = ssd_anchors()
        # cv2 would otherwise spawn a thread per core, competing with LiteRT's.
        cv2.setNumThreads(1)

    def execute(self, requests: list) -> list:
        batches = [pb_utils.get_input_tensor_by_name(request, "IMAGE").as_numpy() for request in requests]
        # Every frame of every request in one batch per model; each response takes its frames back in order.
        frames = [np.ascontiguousarray(frame) for batch in batches if batch.shape[1] and batch.shape[2]
                  for frame in batch]
        poses = iter(self.detect(frames) if frames else [])
        responses = []
        for batch in batches:
            if batch.shape[1] and batch.shape[2]:
                responses.append(self.response([next(poses) for _ in batch]))
            else:
                error = pb_utils.TritonError(f"IMAGE frames must not be empty, got shape {list(batch.shape)}",
                                             pb_utils.TritonError.INVALID_ARG)
                responses.append(pb_utils.InferenceResponse(output_tensors=[], error=error))
        return responses

    def detect(self, frames: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray, float] | None]:
        """Per frame: (landmarks [33, 4], box [4], presence score), or None where no pose is found."""
        raw = self.detector(np.stack([detector_input(frame) for frame in frames]))
        raw_boxes = unbatch_detector(raw["Identity"], len(frames))
        raw_scores = unbatch_detector(raw["Identity_1"], len(frames))
        rois: list[tuple[int, Roi]] = []
        for index, frame in enumerate(frames):
            height, width = frame.shape[:2]
            found = best_detection(raw_boxes[index], raw_scores[index], self.anchors, self.min_detection_score)
            if found is None:
                continue
            roi = pose_roi(found[0], width, height)
            if roi is not None:
                rois.append((index, roi))
        poses: list[tuple[np.ndarray, np.ndarray, float] | None] = [None] * len(frames)
        if not rois:
            return poses
        crops = np.stack([warp(frames[i], roi, LANDMARK_SIZE, cv2.BORDER_REPLICATE, (0.0, 1.0)) for i, roi in rois])
        out = self.landmarker(crops)
        for k, (index, roi) in enumerate(rois):
            presence = float(out["Identity_1"][k, 0])
            # ThresholdingCalculator (min_tracking_confidence): no pose, no landmarks.
            if not presence > self.min_presence_score:
                continue
            landmarks = project_landmarks(out["Identity"][k], out["Identity_3"][k], roi)
            height, width = frames[index].shape[:2]
            # The person's box: the landmarks' extent (some may lie outside the frame), clipped to it.
            low = np.clip(landmarks[:, :2].min(axis=0), 0, (width, height))
            high = np.clip(landmarks[:, :2].max(axis=0), 0, (width, height))
            poses[index] = landmarks, np.concatenate([low, high]).astype(np.float32), presence
        return poses

    @staticmethod
    def response(poses: list[tuple[np.ndarray, np.ndarray, float] | None]) -> pb_utils.InferenceResponse:
        # Tensors must be rectangular: a request with any pose has one row per frame (COUNT says which).
        rows = int(any(pose is not None for pose in poses))
        landmarks = np.zeros((len(poses), rows, NUM_LANDMARKS, 4), dtype=np.float32)
        boxes = np.zeros((len(poses), rows, 4), dtype=np.float32)
        scores = np.zeros((len(poses), rows), dtype=np.float32)
        counts = np.zeros((len(poses), 1), dtype=np.int32)
        for i, pose in enumerate(poses):
            if pose is not None:
                landmarks[i, 0], boxes[i, 0], scores[i, 0] = pose
                counts[i] = 1
        return pb_utils.InferenceResponse(output_tensors=[
            pb_utils.Tensor("LANDMARKS", landmarks), pb_utils.Tensor("BOXES", boxes),
            pb_utils.Tensor("SCORES", scores), pb_utils.Tensor("COUNT", counts),
        ])

    def finalize(self) -> None:
        self.detector = self.landmarker = None
