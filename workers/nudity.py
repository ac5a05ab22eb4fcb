"""Stage 2: nudity detection on sampled frames through the Triton ``nudity`` ensemble."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from vidsafe.domain import Detection, Finding
from vidsafe.triton import Tensors, TritonClient
from workers.sampling import SampledFrame

MODULE = "nudity"
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


class NudityStage:
    def __init__(self, triton: TritonClient, min_score: float, max_in_flight: int) -> None:
        self._triton = triton
        self._min_score = min_score
        self._max_in_flight = max_in_flight

    def run(self, batches: Iterable[list[SampledFrame]]) -> Iterator[tuple[list[SampledFrame], list[Finding]]]:
        """For each batch of same-size frames, yield the batch with its findings, in order."""
        requests = ((batch, {"IMAGE": np.stack([f.rgb for f in batch])}) for batch in batches)
        for batch, outputs in self._triton.infer_pipelined(ENSEMBLE, requests, OUTPUTS, self._max_in_flight):
            findings = [
                Finding(module=MODULE, frame_index=frame.index, timestamp_s=frame.timestamp_s,
                        **detection.model_dump())
                for item, frame in enumerate(batch)
                for detection in decode_detections(outputs, item)
                if detection.score >= self._min_score
            ]
            yield batch, findings
