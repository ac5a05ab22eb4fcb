"""The frame loop of a chunk: decode once, sample, hand every batch to every enabled frame stage, store."""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Iterable, Iterator
from itertools import islice

import psycopg

from vidsafe.db import parts
from vidsafe.db.parts import Lease
from vidsafe.domain import ErrorCode, MediaError, Module
from vidsafe.observability import count_frames, timed_batch
from vidsafe.settings import Settings
from vidsafe.triton import TritonClient
from vidsafe.workers.clip import ClipStage
from vidsafe.workers.faces import FacesStage
from vidsafe.workers.jobs import JobSource
from vidsafe.workers.nudity import NudityStage
from vidsafe.workers.ocr import OcrStage
from vidsafe.workers.pose import PoseStage
from vidsafe.workers.sampling import SampledFrame, sample_frames
from vidsafe.workers.stages import Collect, FrameStage

log = logging.getLogger(__name__)

FRAME_STAGES: dict[Module, type[FrameStage]] = {
    Module.nudity: NudityStage,
    Module.faces: FacesStage,
    Module.ocr: OcrStage,
    Module.pose: PoseStage,
    Module.clip: ClipStage,
}


def _batches(frames: Iterable[SampledFrame], size: int) -> Iterator[list[SampledFrame]]:
    iterator = iter(frames)
    while batch := list(islice(iterator, size)):
        yield batch


def run_frames(conn: psycopg.Connection, lease: Lease, source: JobSource, fps: float,
               min_scores: dict[Module, float], triton: TritonClient, settings: Settings) -> None:
    """One chunk of frames through every enabled frame stage, its findings stored batch by batch."""
    media = source.job.media
    assert media is not None, "a planned job has its media"
    stages = [cls(triton, min_scores.get(m, 0.0), settings) for m, cls in FRAME_STAGES.items() if m in source.modules]
    if not stages:
        return
    expected_frames = max(1, math.ceil(media.duration_s * fps))
    frames = sample_frames(source.path, fps, media.width, media.height, start_s=lease.start_s, end_s=lease.end_s,
                           max_frame_pixels=settings.max_frame_pixels, max_duration_s=settings.max_duration_s)
    pending: deque[tuple[list[SampledFrame], list[Collect]]] = deque()
    analyzed, last_time = 0, lease.start_s

    def store_oldest() -> None:
        nonlocal analyzed, last_time
        batch, collects = pending.popleft()
        found = [finding for collect in collects for finding in collect()]
        analyzed += len(batch)
        count_frames(len(batch))
        last_time = batch[-1].timestamp_s
        parts.store(conn, lease, found, settings.part_lease_s, analyzed, expected_frames)

    for batch in _batches(frames, settings.infer_batch_frames):
        pending.append((batch, [timed_batch(stage.module, stage.submit, batch) for stage in stages]))
        if len(pending) > settings.infer_in_flight:
            store_oldest()
    while pending:
        store_oldest()
    if analyzed == 0 and lease.index == 0:
        raise MediaError(ErrorCode.unreadable_media, "no frame of the video could be decoded")
    # A demuxer may stop quietly at a truncated file's end; frames must reach the declared duration.
    if analyzed == 0 or (lease.end_s is None and last_time < media.duration_s - max(2.0 / fps, 1.0)):
        raise MediaError(ErrorCode.truncated_media, f"frames end at {last_time:.1f} s of the declared "
                         f"{media.duration_s:.1f} s: the file is truncated")
    log.info("job %s: chunk %d: %d frames analysed", lease.job_id, lease.index, analyzed)
