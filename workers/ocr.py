"""Text on screen in sampled frames, through the Triton ``ocr`` model (PP-OCRv4)."""

from __future__ import annotations

import numpy as np

from vidsafe.catalogue import Module
from vidsafe.domain.findings import Finding
from vidsafe.media.decoding import SampledFrame
from vidsafe.triton import Tensors
from vidsafe.workers.stages import FrameStage

LABEL = "text"


def decode_lines(outputs: Tensors, item: int) -> list[tuple[str, float, np.ndarray]]:
    """(text, confidence, [4, 2] corners) of the ``item``-th frame's lines (rows past COUNT are padding)."""
    count = int(outputs["COUNT"][item][0])
    texts, scores, polygons = outputs["TEXTS"][item], outputs["SCORES"][item], outputs["POLYGONS"][item]
    return [(texts[row].decode(), float(scores[row]), polygons[row]) for row in range(count)]


class OcrStage(FrameStage):
    module = Module.ocr
    outputs = ("TEXTS", "SCORES", "POLYGONS", "COUNT")

    def frame_findings(self, outputs: Tensors, item: int, frame: SampledFrame) -> list[Finding]:
        return [self.finding(frame, label=LABEL, score=score, text=text,
                             polygon=[(float(x), float(y)) for x, y in polygon],
                             box=(float(polygon[:, 0].min()), float(polygon[:, 1].min()),
                                  float(polygon[:, 0].max()), float(polygon[:, 1].max())))
                for text, score, polygon in decode_lines(outputs, item) if score >= self.min_score]
