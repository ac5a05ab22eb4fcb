"""What a pipeline stage is. Each analysis module is one class in its own module of ``workers/``.

A frame stage gets every batch of sampled frames. The base class owns the Triton call and the loop over the
batch's frames: ``submit`` sends the batch to the module's Triton model (the one the catalogue names for its
``frames`` use) and returns at once with a callable that waits for the outputs and gives the batch's
findings; a stage implements only ``frame_findings``, how one frame's outputs become findings. The frame
loop (``workers/frames.py``) submits each batch to every enabled stage before collecting any, so the
modules' requests overlap on the one gRPC channel, and Triton batches them across frames and across jobs.

An audio stage reads the file's audio itself, as a part of the job of its own.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from vidsafe.catalogue import triton_model
from vidsafe.domain import Finding, MediaInfo, Module
from vidsafe.settings import Settings
from vidsafe.triton import Tensors, TritonClient
from vidsafe.workers.sampling import SampledFrame

Collect = Callable[[], list[Finding]]


class Stage(ABC):
    module: ClassVar[Module]

    def __init__(self, triton: TritonClient, min_score: float, settings: Settings) -> None:
        self.triton = triton
        self.min_score = min_score
        self.settings = settings


class FrameStage(Stage):
    outputs: ClassVar[tuple[str, ...]]  # what the stage reads of its model's outputs

    def __init__(self, triton: TritonClient, min_score: float, settings: Settings) -> None:
        super().__init__(triton, min_score, settings)
        self.model = triton_model(self.module, "frames")

    def submit(self, frames: list[SampledFrame]) -> Collect:
        """Start this batch on Triton; the returned callable waits and gives its findings."""
        future = self.triton.submit(self.model, {"IMAGE": np.stack([f.rgb for f in frames])}, self.outputs)

        def collect() -> list[Finding]:
            outputs = self.triton.result(future)
            return [finding for item, frame in enumerate(frames)
                    for finding in self.frame_findings(outputs, item, frame)]

        return collect

    @abstractmethod
    def frame_findings(self, outputs: Tensors, item: int, frame: SampledFrame) -> list[Finding]:
        """The findings of ``frame``, the ``item``-th of the batch whose ``outputs`` these are."""

    def finding(self, frame: SampledFrame, **fields: Any) -> Finding:
        """A finding of this module at ``frame``."""
        return Finding(module=self.module, timestamp_s=frame.timestamp_s, frame_index=frame.index, **fields)


class AudioStage(Stage):
    @abstractmethod
    def run(self, path: Path, media: MediaInfo) -> list[Finding]:
        """Analyse the file's audio track (the caller checked there is one)."""
