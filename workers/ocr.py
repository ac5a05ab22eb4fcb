"""Text on screen in sampled frames, through the Triton ``ocr`` model (PP-OCRv4)."""

from __future__ import annotations

import numpy as np

from vidsafe.domain import Finding, Module
from vidsafe.triton import Tensors
from workers.sampling import SampledFrame
from workers.stages import Collect, FrameStage

MODEL = "ocr"
OUTPUTS = ("TEXTS", "SCORES", "POLYGONS", "COUNT")
LABEL = "text"


def decode_lines(outputs: Tensors, item: int) -> list[tuple[str, float, np.ndarray]]:
    """(text, confidence, [4, 2] corners) of the ``item``-th frame's lines (rows past COUNT are padding)."""
    count = int(outputs["COUNT"][item][0])
    texts, scores, polygons = outputs["TEXTS"][item], outputs["SCORES"][item], outputs["POLYGONS"][item]
    return [(texts[row].decode(), float(scores[row]), polygons[row]) for row in range(count)]


def to_finding(frame: SampledFrame, text: str, score: float, polygon: np.ndarray) -> Finding:
    corners = [(float(x), float(y)) for x, y in polygon]
    xs, ys = polygon[:, 0], polygon[:, 1]
    return Finding(module=Module.ocr, label=LABEL, score=score, timestamp_s=frame.timestamp_s,
                   frame_index=frame.index, text=text, polygon=corners,
                   box=(float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())))


class OcrStage(FrameStage):
    module = Module.ocr

    def submit(self, frames: list[SampledFrame]) -> Collect:
        future = self.triton.submit(MODEL, {"IMAGE": np.stack([f.rgb for f in frames])}, OUTPUTS)

        def collect() -> list[Finding]:
            outputs = self.triton.result(future)
            return [
                to_finding(frame, text, score, polygon)
                for item, frame in enumerate(frames)
                for text, score, polygon in decode_lines(outputs, item)
                if score >= self.min_score
            ]

        return collect
