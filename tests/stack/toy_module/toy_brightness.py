"""The toy module's stage (a frame stage of one method, as workers/nudity.py is) and its export (a catalogue
``convert``, as export/ocr.py's): the rest of vidsafe takes it from the catalogue entry."""

from __future__ import annotations

import json

from vidsafe.catalogue import CatalogueEntry, Module
from vidsafe.domain.findings import Finding
from vidsafe.media.decoding import SampledFrame
from vidsafe.settings import Settings
from vidsafe.triton import Tensors
from vidsafe.workers.stages import FrameStage

WHITE = 255.0


class BrightnessStage(FrameStage):
    module = Module("brightness")
    outputs = ("SCORES",)

    def frame_findings(self, outputs: Tensors, item: int, frame: SampledFrame) -> list[Finding]:
        score = float(outputs["SCORES"][item][0])
        return [self.finding(frame, label="bright", score=round(score, 4))] if score >= self.min_score else []


def write_levels(entry: CatalogueEntry, settings: Settings) -> None:
    """What the model reads at start: the white level its frames are measured against."""
    (target,) = entry.served_files
    path = settings.model_repository / target
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"white": WHITE}))
