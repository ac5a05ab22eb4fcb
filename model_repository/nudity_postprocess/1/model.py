"""YOLOv8 output -> detections in original-frame pixels, with nudenet 3.4.2's semantics.

nudenet keeps anchors whose best class score is >= 0.2, maps them back through the bottom/right
letterbox, clips them, and runs class-agnostic ``cv2.dnn.NMSBoxes(boxes, scores, 0.25, 0.45)``.
The arithmetic below follows it step by step (float32 boxes, float64 overlaps, stable score order)
so that served results match the reference, quirks included.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import triton_python_backend_utils as pb_utils

SIZE = np.float32(320)


def nms(boxes: np.ndarray, scores: np.ndarray, score_threshold: float, iou_threshold: float) -> np.ndarray:
    """Indices kept by greedy NMS over [x, y, w, h] boxes, best first, as cv2.dnn.NMSBoxes (Rect2d)."""
    candidates = np.flatnonzero(scores > np.float32(score_threshold))
    # OpenCV stable-sorts by descending score, so ties keep anchor order.
    order = candidates[np.argsort(-scores[candidates], kind="stable")]
    x1, y1 = boxes[:, 0].astype(np.float64), boxes[:, 1].astype(np.float64)
    x2, y2 = x1 + boxes[:, 2], y1 + boxes[:, 3]
    areas = boxes[:, 2].astype(np.float64) * boxes[:, 3]
    keep = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(best)
        width = np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest])
        height = np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest])
        inter = np.where((width > 0) & (height > 0), width * height, 0.0)
        total = areas[best] + areas[rest]
        with np.errstate(divide="ignore", invalid="ignore"):
            # OpenCV: overlap = 1 - float(jaccard distance); two empty boxes overlap fully.
            distance = np.where(total <= np.finfo(np.float64).eps, 0.0, 1.0 - inter / (total - inter))
        overlap = np.float32(1) - distance.astype(np.float32)
        order = rest[overlap <= np.float32(iou_threshold)]
    return np.array(keep, dtype=np.int64)


def detect(
    output: np.ndarray, side: float, width: float, height: float, thresholds: tuple[float, float, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One frame's [22, 2100] output -> (boxes x1y1x2y2 [K, 4], scores [K], class ids [K]), best first."""
    candidate_threshold, score_threshold, iou_threshold = thresholds
    rows = output.T
    class_scores = rows[:, 4:]
    best_scores = class_scores.max(axis=1)
    mask = best_scores >= np.float32(candidate_threshold)
    scores, class_ids = best_scores[mask], class_scores[mask].argmax(axis=1)
    cx, cy, w, h = rows[mask, :4].T
    side32, width32, height32 = np.float32(side), np.float32(width), np.float32(height)
    # The letterbox only padded bottom/right, so scaling by side/320 maps back to the original frame.
    x = (cx - w / np.float32(2)) * side32 / SIZE
    y = (cy - h / np.float32(2)) * side32 / SIZE
    w, h = w * side32 / SIZE, h * side32 / SIZE
    # nudenet's clipping, kept for parity: a box sticking out left/top is shifted inside, not cut.
    x = np.maximum(np.float32(0), np.minimum(x, width32))
    y = np.maximum(np.float32(0), np.minimum(y, height32))
    w = np.minimum(w, width32 - x)
    h = np.minimum(h, height32 - y)
    xywh = np.stack([x, y, w, h], axis=1)
    keep = nms(xywh, scores, score_threshold, iou_threshold)
    boxes = np.stack([x, y, x + w, y + h], axis=1)[keep].reshape(-1, 4)
    return boxes.astype(np.float32), scores[keep].astype(np.float32), class_ids[keep]


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        config = json.loads(args["model_config"])
        parameters = config.get("parameters", {})

        def parameter(key: str, default: float) -> float:
            return float(parameters.get(key, {}).get("string_value", default))

        self.thresholds = (
            parameter("candidate_threshold", 0.2),
            parameter("score_threshold", 0.25),
            parameter("iou_threshold", 0.45),
        )
        labels_path = Path(args["model_repository"]) / "labels.txt"
        self.labels = np.array([line.strip().encode() for line in labels_path.read_text().splitlines()
                                if line.strip()], dtype=np.object_)

    def execute(self, requests: list) -> list:
        responses = []
        for request in requests:
            outputs = pb_utils.get_input_tensor_by_name(request, "output0").as_numpy()
            letterbox = pb_utils.get_input_tensor_by_name(request, "LETTERBOX").as_numpy()
            frames = [detect(out, *shape, self.thresholds) for out, shape in zip(outputs, letterbox, strict=True)]
            # Tensors must be rectangular: pad every frame to the request's largest count.
            rows = max(len(scores) for _, scores, _ in frames)
            boxes = np.zeros((len(frames), rows, 4), dtype=np.float32)
            scores = np.zeros((len(frames), rows), dtype=np.float32)
            labels = np.full((len(frames), rows), b"", dtype=np.object_)
            counts = np.zeros((len(frames), 1), dtype=np.int32)
            for i, (frame_boxes, frame_scores, class_ids) in enumerate(frames):
                count = len(frame_scores)
                boxes[i, :count], scores[i, :count] = frame_boxes, frame_scores
                labels[i, :count] = self.labels[class_ids]
                counts[i] = count
            responses.append(pb_utils.InferenceResponse(output_tensors=[
                pb_utils.Tensor("BOXES", boxes), pb_utils.Tensor("SCORES", scores),
                pb_utils.Tensor("LABELS", labels), pb_utils.Tensor("COUNT", counts),
            ]))
        return responses

    def finalize(self) -> None:
        pass
