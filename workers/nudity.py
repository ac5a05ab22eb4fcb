"""Nudity detection on sampled frames through the Triton ``nudity`` ensemble."""

from __future__ import annotations

import numpy as np

from vidsafe.domain import Detection, Finding, Module
from vidsafe.triton import Tensors
from workers.sampling import SampledFrame
from workers.stages import Collect, FrameStage

ENSEMBLE = "nudity"
OUTPUTS = ("BOXES", "SCORES", "LABELS", "COUNT")


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

    def submit(self, frames: list[SampledFrame]) -> Collect:
        future = self.triton.submit(ENSEMBLE, {"IMAGE": np.stack([f.rgb for f in frames])}, OUTPUTS)

        def collect() -> list[Finding]:
            outputs = self.triton.result(future)
            return [
                Finding(module=self.module, frame_index=frame.index, timestamp_s=frame.timestamp_s,
                        **detection.model_dump())
                for item, frame in enumerate(frames)
                for detection in decode_detections(outputs, item)
                if detection.score >= self.min_score
            ]

        return collect
