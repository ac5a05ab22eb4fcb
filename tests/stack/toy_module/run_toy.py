"""Run where VIDSAFE_CATALOGUE names a catalogue with the toy module: what vidsafe derives from the catalogue, the
module's export, a Triton serving it, and its stage on three frames; prints what it saw as one JSON object."""

from __future__ import annotations

import json

import cv2
import numpy as np

from vidsafe.catalogue import Module, ModuleKind, entries_of
from vidsafe.deploy import stack
from vidsafe.domain.findings import Finding
from vidsafe.domain.jobs import JobOptions
from vidsafe.export.models import export_models
from vidsafe.media.decoding import SampledFrame
from vidsafe.serving import job_min_scores, module_statuses, resolve_modules
from vidsafe.settings import Settings
from vidsafe.triton import TritonClient
from vidsafe.ui import thumbnails, timeline
from vidsafe.workers.stages import FrameStage, stage_classes

LEVELS = (0, 51, 255)


def _box_colour(finding: Finding) -> list[int]:
    """The colour the review UI draws the finding's box in, read back from the annotated thumbnail."""
    ok, jpeg = cv2.imencode(".jpg", np.zeros((40, 40, 3), np.uint8))
    assert ok
    png = thumbnails.annotate(jpeg.tobytes(), [finding], (40, 40), blur=False)
    rgb = cv2.cvtColor(cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return rgb[20, 10].tolist()


def main() -> None:
    settings = Settings()
    toy = Module("brightness")
    stage_class = stage_classes(ModuleKind.frame, FrameStage)[toy]
    boxed = Finding(module=toy, label="bright", score=0.5, timestamp_s=0.0, frame_index=0, box=(10, 10, 30, 30))
    seen = {
        "modules": [str(m) for m in Module],
        "stage": stage_class.__name__,
        "min_score": settings.min_scores["brightness"],
        "carry_over_change": settings.carry_over_change["brightness"],
        "severity": settings.risk_severities["brightness:bright"],
        "box_colour": _box_colour(boxed),
        "timeline": timeline.category(boxed),
        "frame_models": [e.calls["frames"] for e in entries_of(ModuleKind.frame) if not e.optional],
        "available": [s.available for s in module_statuses(settings) if s.module == toy],
        "a_job_runs_it": toy in resolve_modules(JobOptions(), settings),
        "exported": [str(p.relative_to(settings.model_repository)) for p in export_models(settings, [toy])],
    }
    frames = [SampledFrame(index=i, timestamp_s=i / 2, rgb=np.full((36, 64, 3), level, np.uint8))
              for i, level in enumerate(LEVELS)]
    stack.up(settings, ["triton"])
    try:
        with TritonClient(settings.effective_triton_url) as triton:
            stage = stage_class(triton, job_min_scores(JobOptions(), settings)[toy], settings)
            found = stage.submit(frames)()
    finally:
        stack.down(settings)
    seen["findings"] = [[f.frame_index, f.label, f.score] for f in found]
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
