"""Nudity detection on sampled frames through the Triton ``nudity`` ensemble."""

from __future__ import annotations

from vidsafe.catalogue import Module
from vidsafe.domain.findings import Detection, Finding
from vidsafe.media.decoding import SampledFrame
from vidsafe.triton import Tensors
from vidsafe.workers.stages import FrameStage


def decode_detections(outputs: Tensors, item: int) -> list[Detection]:
    """The detections of the ``item``-th frame of a batch (rows past COUNT are padding)."""
    count = int(outputs["COUNT"][item][0])
    boxes, scores, labels = outputs["BOXES"][item], outputs["SCORES"][item], outputs["LABELS"][item]
    return [
        Detection(label=labels[row].decode(), score=float(scores[row]),
                  box=tuple(float(v) for v in boxes[row]))  # type: ignore[arg-type]
        for row in range(count)
    ]


class NudityStage(FrameStage):
    module = Module.nudity
    outputs = ("BOXES", "SCORES", "LABELS", "COUNT")

    def frame_findings(self, outputs: Tensors, item: int, frame: SampledFrame) -> list[Finding]:
        return [self.finding(frame, **detection.model_dump()) for detection in decode_detections(outputs, item)
                if detection.score >= self.min_score]
