"""What a pipeline stage is. Each analysis module is one class in its own module of ``workers/``.

A frame stage gets every batch of sampled frames. The base class owns the Triton call and the loop over the
batch's frames: ``submit`` sends the batch to the module's Triton model (the one the catalogue names for its
``frames`` use) and returns at once with a callable that waits for the outputs and gives the batch's
findings; a stage implements only ``frame_findings``, how one frame's outputs become findings. The frame
loop (``workers/frames.py``) submits each batch to every enabled stage before collecting any, so the
modules' requests overlap on the one gRPC channel, and Triton batches them across frames and across jobs.

A stage runs only on the frames where the picture can have changed for it (``CarryOver``): the first of each
shot, any that changed enough since the stage last ran, and one at least every ``carry_over_max_s``. The
others carry the findings of the frame it last ran on, re-timed and marked ``carried_from`` (that frame's
index), so a reviewer and the rules still see every sampled frame's findings.

An audio stage reads the file's audio itself, as a part of the job of its own. A rule stage runs in the rules part,
once every other part is done, on the findings of the modules rules read; a text stage after it, on what those
findings say (OCR lines, speech).

Which class is a module's stage is the catalogue's to say (its entry's ``stage``): the frame loop, the audio part
and the rules part run the stages of the job's modules of their kind, in the catalogue's order.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from itertools import groupby
from pathlib import Path
from typing import Any, ClassVar, TypeVar
from uuid import UUID

import numpy as np
import psycopg

from vidsafe.catalogue import Module, ModuleKind, entries_of, entry, triton_model
from vidsafe.db.parts import Lease
from vidsafe.domain.findings import Finding
from vidsafe.domain.jobs import MediaInfo
from vidsafe.media.cuts import picture_change
from vidsafe.media.decoding import SampledFrame
from vidsafe.settings import Settings
from vidsafe.triton import Tensors, TritonClient
from vidsafe.workers.shared_frames import SharedBatch

Collect = Callable[[], list[Finding]]
S = TypeVar("S", bound="Stage")


@dataclass
class CarryOver:
    """Decides, frame by frame in order, whether a stage runs on a frame or carries its last results over."""

    min_change: float  # the picture change (shots.picture_change) at which the stage runs again; 0: every frame
    max_age_s: float
    last_run: SampledFrame | None = None

    def runs_on(self, frame: SampledFrame) -> bool:
        last = self.last_run
        runs = (self.min_change <= 0 or last is None or frame.signature is None or last.signature is None
                or frame.shot != last.shot or frame.timestamp_s - last.timestamp_s >= self.max_age_s - 1e-6
                or picture_change(last.signature.grey, frame.signature.grey) >= self.min_change)
        if runs:
            self.last_run = frame
        return runs


def carried(finding: Finding, frame: SampledFrame, source: SampledFrame) -> Finding:
    return finding.model_copy(update={"timestamp_s": frame.timestamp_s, "frame_index": frame.index, "id": None,
                                      "attributes": {**finding.attributes, "carried_from": source.index}})


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
        # A setting that leaves the module out keeps its catalogue default.
        change = settings.carry_over_change.get(self.module, entry(self.module).carry_over_change or 0.0)
        self.carry = CarryOver(change, settings.carry_over_max_s)
        # The frame the stage last ran on and its findings, as collected so far (batches are collected in order).
        self._latest: tuple[SampledFrame, list[Finding]] | None = None
        self.frames_run = 0

    def submit(self, frames: list[SampledFrame], shared: SharedBatch | None = None) -> Collect:
        """Start this batch on Triton (the frames the stage runs on, read from ``shared`` memory where the batch
        lies there, else copied into the request); the returned callable waits and gives the findings of every
        frame of the batch, carried ones included."""
        runs = [self.carry.runs_on(frame) for frame in frames]
        ran = [i for i, run in enumerate(runs) if run]
        self.frames_run += len(ran)
        if shared is None:
            requests = [(ran, {"IMAGE": np.stack([frames[i].rgb for i in ran])})] if ran else []
        else:  # a tensor is one stretch of the region: one request per run of consecutive frames
            stretches = [[i for _, i in group] for _, group in groupby(enumerate(ran), lambda pair: pair[1] - pair[0])]
            requests = [(items, {"IMAGE": shared.frames(items[0], items[-1] + 1)}) for items in stretches]
        futures = [(items, self.triton.submit(self.model, tensors, self.outputs)) for items, tensors in requests]

        def collect() -> list[Finding]:
            answered = {}  # frame of the batch -> (its request's outputs, its item in them)
            for items, future in futures:
                outputs = self.triton.result(future)
                answered |= {i: (outputs, item) for item, i in enumerate(items)}
            found: list[Finding] = []
            for i, (frame, run) in enumerate(zip(frames, runs, strict=True)):
                if run:
                    self._latest = (frame, self.frame_findings(*answered[i], frame))
                    found += self._latest[1]
                elif self._latest is not None:
                    source, findings = self._latest
                    found += [carried(finding, frame, source) for finding in findings]
            return found

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


@dataclass(frozen=True)
class RulesInput:
    """What a rule stage works with: the job's findings of the modules rules read, and its part (to store by)."""

    conn: psycopg.Connection
    lease: Lease
    team_id: UUID
    findings: list[Finding]
    sample_fps: float


class RuleStage(Stage):
    step: ClassVar[str] = "rule"  # what the stage-duration metric calls its work

    @abstractmethod
    def run(self, job: RulesInput) -> None:
        """Read the job's findings and store what the rule makes of them."""


class TextStage(RuleStage):
    """Judges what the modules its entry ``reads`` found said or written (their findings' ``text``), in the rules
    part after the rule stages."""

    step: ClassVar[str] = "judge"


@cache
def _stage_class(target: str) -> type[Stage]:
    where, _, name = target.partition(":")
    return getattr(importlib.import_module(where), name)


def stage_classes(kind: ModuleKind, base: type[S]) -> dict[Module, type[S]]:
    """The stage class of every module of ``kind`` that has one, as the catalogue names it, in its order; each a
    ``base`` of that module's (a TypeError says which entry names another)."""
    classes: dict[Module, type[S]] = {}
    for declared in entries_of(kind):
        if declared.stage is None:
            continue
        cls = _stage_class(declared.stage)
        if not issubclass(cls, base) or cls.module != declared.module:
            raise TypeError(f"the catalogue's stage of {declared.module}, {declared.stage}, is not a {base.__name__} "
                            f"of {declared.module}")
        classes[declared.module] = cls
    return classes
