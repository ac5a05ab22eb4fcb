"""A job's analysis in parts that any worker can take: plan -> frame chunks and audio -> rules -> done.

``plan_job`` probes the video and records its parts: its frames in time chunks of ``chunk_s``, its audio
track, and the rules that read their findings (face identities, restraint, text embeddings, segments),
which wait until every other part is done. ``run_part`` claims one part under a lease
(``vidsafe/db/parts.py``), analyses it and stores its findings under that lease, so a part's findings
are written exactly once, and a job resumes from its done parts after a crash, a pause or a failure.

Within a chunk, frames are decoded once and every batch goes to every enabled frame stage. A dependency
that goes away (Triton, Postgres) makes the part start over with backoff until
``dependency_retry_deadline_s``; then the job fails, retryable. A bad video fails its job with the
error's code; the worker itself never dies of one.
"""

from __future__ import annotations

import itertools
import logging
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from uuid import UUID

import psycopg
from kombu.exceptions import OperationalError as QueueUnreachable

from vidsafe.catalogue import resolve_modules
from vidsafe.db import parts, queries
from vidsafe.db.parts import JobInterrupted, Lease, LeaseLost, PartPlan
from vidsafe.domain import ErrorCode, Job, JobOptions, JobStatus, MediaError, MediaInfo, Module
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

ACTOR = "worker"
FRAME_STAGES: dict[Module, type[FrameStage]] = {
    Module.nudity: NudityStage,
    Module.faces: FacesStage,
    Module.ocr: OcrStage,
    Module.pose: PoseStage,
    Module.clip: ClipStage,
}
# What the rules after the parts read: faces (identities), pose and CLIP (restraint).
RULE_INPUTS = (Module.faces, Module.pose, Module.clip)
AUDIO_STAGES: dict[Module, type[AudioStage]] = {
    Module.speech: SpeechStage,
}
# Sends a part's task: (job, kind, index, priority).
SendPart = Callable[[UUID, str, int, int], None]


class DependencyDown(Exception):
    """Triton or Postgres does not answer: the part starts over once it does, until the deadline."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class JobSource:
    job: Job
    path: Path
    owns_media: bool
    options: JobOptions


def _connect(settings: Settings) -> psycopg.Connection:
    return psycopg.connect(settings.effective_database_url, autocommit=True, connect_timeout=5)


def _source(conn: psycopg.Connection, job_id: UUID) -> JobSource | None:
    job = queries.get_job(conn, job_id)
    source = queries.get_media_source(conn, job_id)
    if job is None or source is None:
        return None
    return JobSource(job, Path(source[0]), source[1], source[2])


def _remove_media(source: JobSource) -> None:
    if source.owns_media:
        source.path.unlink(missing_ok=True)


def _fail(conn: psycopg.Connection, source: JobSource, code: ErrorCode, message: str, retryable: bool) -> None:
    """End the job as failed. A bad video's file goes now; a retryable failure keeps it for the retry (the
    maintenance sweep removes it after ``failed_media_retention_s``)."""
    queries.transition(conn, source.job.id, [JobStatus.queued, JobStatus.running], JobStatus.failed, ACTOR,
                       error=(code, message), retryable=retryable)
    if not retryable:
        _remove_media(source)


def plan(media: MediaInfo, modules: set[Module], chunk_s: float) -> list[PartPlan]:
    chunks = max(1, math.ceil(media.duration_s / chunk_s - 1e-9))
    planned = [PartPlan("frames", i, i * chunk_s, (i + 1) * chunk_s if i < chunks - 1 else None)
               for i in range(chunks)]
    if media.has_audio and any(module in modules for module in AUDIO_STAGES):
        planned.append(PartPlan("audio", 0, 0.0, None))
    return [*planned, PartPlan("rules", 0, 0.0, None)]


def _superseded(job: Job, sent_priority: int) -> bool:
    """A message sent before the job's priority changed: the one sent at the new priority does the work."""
    if job.priority == sent_priority:
        return False
    log.info("job %s: a message at its former priority %d; the one at %d does the work", job.id, sent_priority,
             job.priority)
    return True


def plan_job(job_id: UUID, sent_priority: int, settings: Settings, send_part: SendPart) -> None:
    """Probe the job's video, record its parts (once), mark it running and send the parts still to do."""
    with _connect(settings) as conn:
        source = _source(conn, job_id)
        if source is None or source.job.status not in (JobStatus.queued, JobStatus.running):
            log.info("job %s is unknown or not queued; nothing to plan", job_id)
            return
        if _superseded(source.job, sent_priority):
            return
        try:
            with time_stage("all", "probe"):
                media = probe_video(source.path, settings)
            modules = resolve_modules(source.options, settings)
        except MediaError as error:
            _fail(conn, source, error.code, error.message, retryable=False)
            return
        queries.set_media(conn, job_id, media)
        parts.plan_parts(conn, job_id, plan(media, modules, settings.chunk_s))
        if queries.transition(conn, job_id, [JobStatus.queued, JobStatus.running], JobStatus.running, ACTOR) is None:
            return  # paused or cancelled meanwhile: a resume plans again
        _send_parts(conn, settings, send_part, job_id, parts.parts_to_send(conn, job_id), source.job.priority)


def _send_parts(conn: psycopg.Connection, settings: Settings, send_part: SendPart, job_id: UUID,
                todo: list[tuple[str, int]], priority: int) -> None:
    """Send the parts' tasks, waiting up to ``dependency_retry_deadline_s`` for an unreachable queue (Redis).
    Past that the parts are marked unsent, for the maintenance loop to send: the job's done work is kept and
    the job not failed, as a Redis restart must not lose jobs."""
    deadline = time.monotonic() + settings.dependency_retry_deadline_s
    for position, (kind, index) in enumerate(todo):
        while True:
            try:
                send_part(job_id, kind, index, priority)
                break
            except QueueUnreachable as error:
                if time.monotonic() >= deadline:
                    log.error("job %s: the queue is unreachable (%s); %d parts left to the maintenance loop",
                              job_id, error, len(todo) - position)
                    parts.unsent(conn, job_id, todo[position:])
                    return
                log.warning("job %s: the queue is unreachable (%s); sending part %s %s again in 1 s",
                            job_id, error, kind, index)
                time.sleep(1.0)


class _Heartbeat:
    """Renews the part's lease from a thread of its own, so that a long step (a whole audio track) keeps it."""

    def __init__(self, settings: Settings, lease: Lease) -> None:
        self._settings, self._lease = settings, lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        period = self._settings.part_lease_s / 3
        while not self._stop.wait(period):
            try:
                with _connect(self._settings) as conn:
                    parts.renew(conn, self._lease, self._settings.part_lease_s)
            except (LeaseLost, JobInterrupted):
                return  # the part's next write finds out and stops
            except psycopg.Error as error:
                log.warning("cannot renew the lease of part %s %s: %s", self._lease.kind, self._lease.index, error)


def run_part(job_id: UUID, kind: str, index: int, sent_priority: int, settings: Settings,
             send_part: SendPart) -> None:
    """Claim a part and analyse it, starting over while a dependency is down; a no-op if the part is done,
    held by a live worker, or its job is not running."""
    conn = _connect(settings)
    try:
        source = _source(conn, job_id)
        if source is None or _superseded(source.job, sent_priority):
            return
        lease = parts.claim_part(conn, job_id, kind, index, settings.part_lease_s)
        if lease is None:
            log.info("part %s %s of job %s is done, taken, or its job is not running", kind, index, job_id)
            return
        deadline: float | None = None
        for attempt in itertools.count(1):
            try:
                with _Heartbeat(settings, lease):
                    _run_part_once(conn, lease, source, settings, send_part)
                return
            except DependencyDown as down:
                deadline = deadline or time.monotonic() + settings.dependency_retry_deadline_s
                if time.monotonic() >= deadline:
                    message = (f"{down} for over {settings.dependency_retry_deadline_s:.0f} s; the job can be "
                               "retried once it is back")
                    conn = _reconnect(conn, settings)
                    _fail(conn, source, down.code, message, retryable=True)
                    parts.release(conn, lease)
                    return
                # No heartbeat runs during the pause: shorter than half the lease, so that the part is not
                # presumed dead, handed on, and its deadline started afresh by the next worker (forever).
                pause = min(30.0, settings.part_lease_s / 2, 0.5 * 2 ** attempt) * random.uniform(0.5, 1.0)
                log.warning("part %s %s of job %s: %s; starting it over in %.1f s", kind, index, job_id, down, pause)
                time.sleep(pause)
                conn = _reconnect(conn, settings)
                restarted = _restart(conn, lease, settings)
                if restarted is None:
                    return
                lease = restarted
    except LeaseLost as error:
        log.warning("%s: another worker has it now", error)
    except JobInterrupted as interrupted:
        log.info("part %s %s of job %s stops: the job is %s", kind, index, job_id, interrupted.status)
        parts.release(conn, lease)
    finally:
        conn.close()


def _reconnect(conn: psycopg.Connection, settings: Settings) -> psycopg.Connection:
    if not conn.closed and not conn.broken:
        return conn
    conn.close()
    while True:  # a database that stays down: the task's time limit ends this, and the lease hands the part on
        try:
            return _connect(settings)
        except psycopg.OperationalError as error:
            log.warning("Postgres is still down (%s); trying again in 5 s", error)
            time.sleep(5)


def _restart(conn: psycopg.Connection, lease: Lease, settings: Settings) -> Lease | None:
    """Take the part again for a fresh attempt; None if another worker has it or the job stopped."""
    try:
        return parts.restart(conn, lease, settings.part_lease_s)
    except LeaseLost as error:
        log.warning("%s: another worker has it now", error)
    except JobInterrupted as interrupted:
        log.info("part %s %s stops: the job is %s", lease.kind, lease.index, interrupted.status)
        parts.release(conn, lease)
    return None


def _run_part_once(conn: psycopg.Connection, lease: Lease, source: JobSource, settings: Settings,
                   send_part: SendPart) -> None:
    media = source.job.media
    assert media is not None, "a planned job has its media"
    try:
        modules = resolve_modules(source.options, settings)
        fps = source.options.sample_fps or settings.sample_fps
        min_scores = {**{Module(m): v for m, v in settings.min_scores.items()}, **source.options.min_scores}
        with TritonClient(settings.effective_triton_url, settings.triton_timeout_s) as triton, \
                time_stage("all", lease.kind):
            if lease.kind == "frames":
                _run_frames(conn, lease, source.path, media, fps, modules, min_scores, triton, settings)
            elif lease.kind == "audio":
                for module, cls in AUDIO_STAGES.items():
                    if module in modules:
                        stage = cls(triton, min_scores.get(module, 0.0), settings)
                        parts.store(conn, lease, stage.run(source.path, media), settings.part_lease_s)
            else:
                _run_rules(conn, lease, modules, fps, min_scores, triton, settings)
                with conn.transaction():
                    parts.complete(conn, lease, settings.part_lease_s)
                    queries.transition(conn, lease.job_id, [JobStatus.running], JobStatus.succeeded, ACTOR)
                _remove_media(source)
                return
        if parts.complete(conn, lease, settings.part_lease_s):
            current = queries.get_job(conn, lease.job_id)  # its priority may have changed meanwhile
            priority = current.priority if current else source.job.priority
            _send_parts(conn, settings, send_part, lease.job_id, [("rules", 0)], priority)
    except (LeaseLost, JobInterrupted):
        raise
    except TritonError as error:
        if error.unavailable:
            raise DependencyDown(ErrorCode.inference_unavailable, f"Triton is unavailable ({error})") from None
        _fail(conn, source, ErrorCode.inference_failed, f"inference failed: {error}", retryable=True)
        parts.release(conn, lease)
    except psycopg.OperationalError as error:
        raise DependencyDown(ErrorCode.database_unavailable, f"Postgres is unavailable ({error})") from None
    except MediaError as error:
        _fail(conn, source, error.code, error.message, retryable=False)
        parts.release(conn, lease)
    except Exception as error:
        log.exception("part %s %s of job %s failed unexpectedly", lease.kind, lease.index, lease.job_id)
        _fail(conn, source, ErrorCode.internal_error, f"internal error: {type(error).__name__}", retryable=True)
        parts.release(conn, lease)


def _batches(frames: Iterable[SampledFrame], size: int) -> Iterator[list[SampledFrame]]:
    iterator = iter(frames)
    while batch := list(islice(iterator, size)):
        yield batch


def _run_frames(conn: psycopg.Connection, lease: Lease, path: Path, media: MediaInfo, fps: float,
                modules: set[Module], min_scores: dict[Module, float], triton: TritonClient,
                settings: Settings) -> None:
    """One chunk of frames through every enabled frame stage, its findings stored batch by batch."""
    stages = [cls(triton, min_scores.get(m, 0.0), settings) for m, cls in FRAME_STAGES.items() if m in modules]
    if not stages:
        return
    expected_frames = max(1, math.ceil(media.duration_s * fps))
    frames = sample_frames(path, fps, media.width, media.height, start_s=lease.start_s, end_s=lease.end_s,
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


def _run_rules(conn: psycopg.Connection, lease: Lease, modules: set[Module], fps: float,
               min_scores: dict[Module, float], triton: TritonClient, settings: Settings) -> None:
    """The rules and indexes built on the other parts' findings, then the job's segments."""
    kept = queries.rule_inputs(conn, lease.job_id, [m for m in RULE_INPUTS if m in modules])
    if Module.faces in modules:
        with time_stage(Module.faces, "identities"):
            identities = assign_identities([f for f in kept if f.module == Module.faces],
                                           settings.face_identity_min_cosine)
            queries.merge_attributes(conn, {finding_id: {"identity": n} for finding_id, n in identities.items()})
    if Module.restraint in modules:
        threshold = min_scores.get(Module.restraint, 0.5)
        with time_stage(Module.restraint, "rule"):
            parts.store(conn, lease, restraint_findings(kept, fps, threshold, settings), settings.part_lease_s)
    if Module.text_embeddings in modules:
        with time_stage(Module.text_embeddings, "index"):
            embed_job_texts(conn, lease.job_id, triton, settings.infer_in_flight)
    with time_stage("all", "segments"):
        queries.replace_segments(conn, lease.job_id, build_segments(queries.get_findings(conn, lease.job_id), fps))
