"""The analysis of one job: probe -> sample -> the enabled stages -> store, with the job's state in Postgres.

Frames are decoded once and every batch goes to every enabled frame stage; the audio stage runs
beside them in a thread. After the frame and audio stages come the rules and indexes built on their
findings: restraint (pose and CLIP), text embeddings (OCR and speech text), and segments.

Every outcome ends the job (succeeded, or failed with an error code and a reason) and removes the
uploaded file; a worker never dies of a bad video.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from itertools import islice
from pathlib import Path
from uuid import UUID

import psycopg

from vidsafe.catalogue import resolve_modules
from vidsafe.db import queries
from vidsafe.domain import ErrorCode, Finding, JobOptions, MediaError, MediaInfo, Module
from vidsafe.media import probe_video
from vidsafe.observability import count_frames, time_stage, timed_batch
from vidsafe.settings import Settings
from vidsafe.triton import TritonClient, TritonError
from workers.clip import ClipStage
from workers.faces import FacesStage, assign_identities
from workers.nudity import NudityStage
from workers.ocr import OcrStage
from workers.pose import PoseStage
from workers.restraint import restraint_findings
from workers.sampling import SampledFrame, sample_frames
from workers.segments import build_segments
from workers.speech import SpeechStage
from workers.stages import AudioStage, Collect, FrameStage
from workers.text_embeddings import embed_job_texts

log = logging.getLogger(__name__)

FRAME_STAGES: dict[Module, type[FrameStage]] = {
    Module.nudity: NudityStage,
    Module.faces: FacesStage,
    Module.ocr: OcrStage,
    Module.pose: PoseStage,
    Module.clip: ClipStage,
}
# What the rules after the stages read: faces (identities), pose and CLIP (restraint).
RULE_INPUTS = (Module.faces, Module.pose, Module.clip)
AUDIO_STAGES: dict[Module, type[AudioStage]] = {
    Module.speech: SpeechStage,
}


def analyze_job(job_id: UUID, settings: Settings) -> None:
    with psycopg.connect(settings.effective_database_url, autocommit=True) as conn:
        source = queries.get_media_source(conn, job_id)
        if source is None or not queries.start_job(conn, job_id):
            log.warning("job %s is unknown or already ended; nothing to do", job_id)
            return
        media_path, owns_media, options = Path(source[0]), source[1], source[2]
        try:
            with time_stage("all", "job"):
                _run(conn, job_id, media_path, options, settings)
        except MediaError as error:
            queries.fail_job(conn, job_id, error.code, error.message)
        except TritonError as error:
            queries.fail_job(conn, job_id, ErrorCode.inference_failed, f"inference failed: {error}")
        except Exception as error:
            log.exception("job %s failed unexpectedly", job_id)
            queries.fail_job(conn, job_id, ErrorCode.internal_error, f"internal error: {type(error).__name__}")
        else:
            queries.finish_job(conn, job_id)
        finally:
            if owns_media:
                media_path.unlink(missing_ok=True)


def _batches(frames: Iterable[SampledFrame], size: int) -> Iterator[list[SampledFrame]]:
    iterator = iter(frames)
    while batch := list(islice(iterator, size)):
        yield batch


def _run(conn: psycopg.Connection, job_id: UUID, media_path: Path, options: JobOptions, settings: Settings) -> None:
    with time_stage("all", "probe"):
        media = probe_video(media_path, settings)
    queries.set_media(conn, job_id, media)
    modules = resolve_modules(options, settings)
    fps = options.sample_fps or settings.sample_fps
    min_scores = {**{Module(m): v for m, v in settings.min_scores.items()}, **options.min_scores}
    kept: list[Finding] = []  # the findings of RULE_INPUTS
    with TritonClient(settings.effective_triton_url, settings.triton_timeout_s) as triton, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="audio") as audio_pool:
        audio_stages = [cls(triton, min_scores.get(m, 0.0), settings) for m, cls in AUDIO_STAGES.items()
                        if m in modules and media.has_audio]
        # Each runs in a thread, in a copy of this context: its log lines carry the job id too.
        audio_runs = [audio_pool.submit(copy_context().run, time_stage(s.module, "audio")(s.run), media_path, media)
                      for s in audio_stages]
        frame_stages = [cls(triton, min_scores.get(m, 0.0), settings) for m, cls in FRAME_STAGES.items()
                        if m in modules]
        if frame_stages:
            with time_stage("all", "frames"):
                kept += _run_frame_stages(conn, job_id, media_path, media, fps, frame_stages, settings)
        for run in audio_runs:
            queries.add_findings(conn, job_id, run.result())
        _run_rules(conn, job_id, modules, kept, fps, min_scores, triton, settings)
    with time_stage("all", "segments"):
        queries.replace_segments(conn, job_id, build_segments(queries.get_findings(conn, job_id), fps))


def _run_frame_stages(conn: psycopg.Connection, job_id: UUID, media_path: Path, media: MediaInfo, fps: float,
                      stages: list[FrameStage], settings: Settings) -> list[Finding]:
    expected_frames = max(1, math.ceil(media.duration_s * fps))
    frames = sample_frames(media_path, fps, media.width, media.height, max_frame_pixels=settings.max_frame_pixels,
                           max_duration_s=settings.max_duration_s)
    pending: deque[tuple[list[SampledFrame], list[Collect]]] = deque()
    analyzed, last_time = 0, 0.0
    kept: list[Finding] = []

    def store_oldest() -> None:
        nonlocal analyzed, last_time
        batch, collects = pending.popleft()
        found = [finding for collect in collects for finding in collect()]
        analyzed += len(batch)
        count_frames(len(batch))
        last_time = batch[-1].timestamp_s
        for finding, finding_id in zip(found, queries.add_findings(conn, job_id, found, analyzed,
                                                                    analyzed / expected_frames), strict=True):
            finding.id = finding_id
        kept.extend(f for f in found if f.module in RULE_INPUTS)

    for batch in _batches(frames, settings.infer_batch_frames):
        pending.append((batch, [timed_batch(stage.module, stage.submit, batch) for stage in stages]))
        if len(pending) > settings.infer_in_flight:
            store_oldest()
    while pending:
        store_oldest()
    if analyzed == 0:
        raise MediaError(ErrorCode.unreadable_media, "no frame of the video could be decoded")
    # A demuxer may stop quietly at a truncated file's end; frames must reach the declared duration.
    if last_time < media.duration_s - max(2.0 / fps, 1.0):
        raise MediaError(ErrorCode.truncated_media, f"frames end at {last_time:.1f} s of the declared "
                         f"{media.duration_s:.1f} s: the file is truncated")
    log.info("job %s: %d frames analysed", job_id, analyzed)
    return kept


def _run_rules(conn: psycopg.Connection, job_id: UUID, modules: set[Module], kept: list[Finding], fps: float,
               min_scores: dict[Module, float], triton: TritonClient, settings: Settings) -> None:
    """The rules and indexes built on the stages' findings."""
    if Module.faces in modules:
        with time_stage(Module.faces, "identities"):
            identities = assign_identities([f for f in kept if f.module == Module.faces],
                                           settings.face_identity_min_cosine)
            queries.merge_attributes(conn, {finding_id: {"identity": n} for finding_id, n in identities.items()})
    if Module.restraint in modules:
        threshold = min_scores.get(Module.restraint, 0.5)
        with time_stage(Module.restraint, "rule"):
            queries.add_findings(conn, job_id, restraint_findings(kept, fps, threshold, settings))
    if Module.text_embeddings in modules:
        with time_stage(Module.text_embeddings, "index"):
            embed_job_texts(conn, job_id, triton, settings.infer_in_flight)
