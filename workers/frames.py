"""The frame loop of a chunk: decode once, sample, hand every batch to every enabled frame stage, store the
findings and the thumbnails of the frames they are on, the frames' perceptual hashes, and the chunk's shots."""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Iterable, Iterator
from functools import partial
from itertools import islice

import psycopg

from vidsafe.catalogue import Module, ModuleKind, entries_of
from vidsafe.db import known_content, parts
from vidsafe.db.parts import Lease
from vidsafe.media.cuts import CutDetector
from vidsafe.media.decoding import SampledFrame, decode_report, sample_frames
from vidsafe.media.hashing import frame_hash
from vidsafe.observability import count_frames, observe_stage, timed_batch
from vidsafe.settings import Settings
from vidsafe.triton import TritonClient
from vidsafe.workers.jobs import JobSource
from vidsafe.workers.known_content import team_index
from vidsafe.workers.shared_frames import SharedFrames
from vidsafe.workers.shots import shot_findings
from vidsafe.workers.stages import Collect, FrameStage, stage_classes
from vidsafe.workers.thumbnails import save_thumbnails

log = logging.getLogger(__name__)


def _batches(frames: Iterable[SampledFrame], size: int, spent: dict[str, float]) -> Iterator[list[SampledFrame]]:
    """Batches of ``size`` frames; the time taken to decode them is added to ``spent["decode"]``."""
    iterator = iter(frames)
    while True:
        started = time.perf_counter()
        batch = list(islice(iterator, size))
        spent["decode"] += time.perf_counter() - started
        if not batch:
            return
        yield batch


def run_frames(conn: psycopg.Connection, lease: Lease, source: JobSource, fps: float,
               min_scores: dict[Module, float], triton: TritonClient, settings: Settings) -> None:
    """One chunk of frames through every enabled frame stage, its findings stored batch by batch."""
    media = source.job.media
    assert media is not None, "a planned job has its media"
    stages = [cls(triton, min_scores[m], settings) for m, cls in stage_classes(ModuleKind.frame, FrameStage).items()
              if m in source.modules]
    if not stages and not {e.module for e in entries_of(ModuleKind.decoded)} & source.modules:
        return
    expected_frames = max(1, math.ceil(media.duration_s * fps))
    report = decode_report(lease.start_s, fps, media.fps)
    cuts = CutDetector(settings.shot_threshold, settings.shot_min_s)
    frames = sample_frames(source.path, fps, media.width, media.height, start_s=lease.start_s, end_s=lease.end_s,
                           max_frame_pixels=settings.max_frame_pixels, max_duration_s=settings.max_duration_s,
                           report=report, cuts=cuts, decoder=settings.video_decoder)
    hashing = Module.known_content in source.modules
    listed = team_index(conn, source.team_id, settings) if hashing else None
    pending: deque[tuple[list[SampledFrame], list[Collect]]] = deque()
    analyzed = 0
    spent = {"decode": 0.0, "store": 0.0}  # the chunk's time in these steps, observed once at its end

    def store_oldest() -> None:
        nonlocal analyzed
        batch, collects = pending.popleft()
        found = [finding for collect in collects for finding in collect()]
        started = time.perf_counter()
        near_listed: list[int] = []
        if listed is not None:
            hashed = [frame_hash(frame.rgb, frame.timestamp_s) for frame in batch]
            known_content.add_frame_hashes(conn, lease.job_id, zip((f.index for f in batch), hashed, strict=True))
            # The rules part matches them; their thumbnails can only be written now.
            near = listed.near(hashed, settings.pdq_match_distance, settings.pdq_min_quality)
            near_listed = [frame.index for frame, close in zip(batch, near, strict=True) if close]
        save_thumbnails(settings, lease.job_id, batch, found, also=near_listed)
        analyzed += len(batch)
        count_frames(len(batch))
        parts.store(conn, lease, found, settings.part_lease_s, analyzed, expected_frames)
        spent["store"] += time.perf_counter() - started

    ring: SharedFrames | None = None
    try:
        for number, batch in enumerate(_batches(frames, settings.infer_batch_frames, spent)):
            if number == 0 and stages:  # the frames' size is known once the first is decoded
                ring = SharedFrames.open(triton, settings, batch[0].rgb.shape)
            shared = ring.put(batch) if ring is not None else None
            pending.append((batch, [timed_batch(stage.module, partial(stage.submit, shared=shared), batch)
                                    for stage in stages]))
            if len(pending) > settings.infer_in_flight:
                store_oldest()
        while pending:
            store_oldest()
    finally:
        if ring is not None:
            ring.close()
    for step, seconds in spent.items():
        observe_stage("all", step, seconds)
    # A demuxer may stop quietly at a truncated file's end: the chunk runs to the video's duration (and the last
    # one, decoded up to a margin past it, is counted up to it).
    end_s = media.duration_s if lease.end_s is None else min(lease.end_s, media.duration_s)
    report.finish(end_s)
    if Module.shots in source.modules:
        parts.store(conn, lease, shot_findings(cuts.cuts, lease.start_s, end_s), settings.part_lease_s)
    parts.record_decoded(conn, lease, settings.part_lease_s, parts.Decoded(
        grid_frames(lease.start_s, end_s, fps, media.fps), analyzed, report.undecodable, report.packets_skipped))
    log.info("job %s: chunk %d: %d frames analysed (%s), %d shots, %d packets skipped, undecodable: %s",
             lease.job_id, lease.index, analyzed, ", ".join(f"{s.module} ran on {s.frames_run}" for s in stages),
             len(cuts.cuts), report.packets_skipped, report.undecodable or "none")


def grid_frames(start_s: float, end_s: float, sample_fps: float, video_fps: float) -> int:
    """Frames the sampling grid holds in [start_s, end_s): at the sampling rate, or the video's own if lower."""
    rate = min(sample_fps, video_fps) if video_fps > 0 else sample_fps
    return max(0, math.ceil(end_s * rate - 1e-6) - math.ceil(start_s * rate - 1e-6))
