"""What a pipeline stage is. Each analysis module is one class in its own module of ``workers/``.

A frame stage gets every batch of sampled frames. ``submit`` starts the batch's work on Triton and
returns at once with a callable that waits for it and gives the batch's findings. The pipeline submits
each batch to every enabled stage before collecting any, so the modules' requests overlap on the one
gRPC channel, and Triton batches them across frames and across jobs.

An audio stage reads the file's audio itself and runs beside the frame stages, in a thread.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from vidsafe.domain import Finding, MediaInfo, Module
from vidsafe.settings import Settings
from vidsafe.triton import TritonClient
from workers.sampling import SampledFrame

Collect = Callable[[], list[Finding]]


class Stage(ABC):
    module: ClassVar[Module]

    def __init__(self, triton: TritonClient, min_score: float, settings: Settings) -> None:
        self.triton = triton
        self.min_score = min_score
        self.settings = settings


class FrameStage(Stage):
    @abstractmethod
    def submit(self, frames: list[SampledFrame]) -> Collect:
        """Start this batch on Triton; the returned callable waits and gives its findings."""


class AudioStage(Stage):
    @abstractmethod
    def run(self, path: Path, media: MediaInfo) -> list[Finding]:
        """Analyse the file's audio track (the caller checked there is one)."""
