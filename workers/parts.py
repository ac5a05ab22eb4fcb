"""Running one part of a job: claim it under a lease, analyse it, store its findings under that lease.

``run_part`` is what a part's task calls. It claims the part (``vidsafe/db/parts.py``: a part's findings
are written exactly once, by the attempt holding it), runs it with a heartbeat keeping the lease, starts it
over with backoff while Triton or Postgres is down (``workers/backoff.py``), and is the one place that
handles losing the part to another worker (``LeaseLost``) or the job stopping under it (``JobInterrupted``).
A bad video fails its job with the error's code; the worker itself never dies of one.
"""

from __future__ import annotations

import logging
from uuid import UUID

import psycopg

from vidsafe import outbound
from vidsafe.catalogue import ModuleKind
from vidsafe.db import jobs, parts, retention
from vidsafe.db.parts import JobInterrupted, Lease, LeaseLost
from vidsafe.domain.errors import ErrorCode, MediaError
from vidsafe.domain.jobs import JobStatus
from vidsafe.observability import count_job_end, time_stage
from vidsafe.serving import job_min_scores
from vidsafe.settings import Settings
from vidsafe.triton import TritonClient, TritonError, endpoint_for
from vidsafe.workers import coverage
from vidsafe.workers.backoff import Backoff, DependencyDown, reconnect
from vidsafe.workers.fetching import run_fetch
from vidsafe.workers.frames import run_frames
from vidsafe.workers.jobs import (
    ACTOR,
    JobSource,
    SendPart,
    checked_again,
    connect,
    fail,
    load_source,
    remove_media,
    superseded,
)
from vidsafe.workers.leases import Heartbeat
from vidsafe.workers.planning import send_parts
from vidsafe.workers.rules import run_rules
from vidsafe.workers.stages import AudioStage, stage_classes
from vidsafe.workers.summaries import SendSummary, new_summary
from vidsafe.workers.thumbnails import remove_thumbnails

log = logging.getLogger(__name__)


def run_part(job_id: UUID, kind: str, index: int, sent_priority: int, settings: Settings,
             send_part: SendPart, send_summary: SendSummary) -> None:
    """Claim a part and analyse it, starting over while a dependency is down; a no-op if the part is done,
    held by a live worker, or its job is not running."""
    conn = connect(settings)
    lease: Lease | None = None
    try:
        source = load_source(conn, job_id)
        if source is None or superseded(source.job, sent_priority):
            return
        lease = parts.claim_part(conn, job_id, kind, index, settings.part_lease_s)
        if lease is None:
            log.info("part %s %s of job %s is done, taken, or its job is not running", kind, index, job_id)
            return
        backoff = Backoff(settings)
        while True:
            try:
                with Heartbeat(settings, lease):
                    _run_once(conn, lease, source, settings, send_part, send_summary)
                return
            except DependencyDown as down:
                if backoff.expired():
                    message = (f"{down} for over {settings.dependency_retry_deadline_s:.0f} s; the job can be "
                               "retried once it is back")
                    conn = reconnect(conn, settings)
                    fail(conn, source, down.code, message, retryable=True)
                    parts.release(conn, lease)
                    return
                backoff.pause(f"part {kind} {index} of job {job_id}", down)
                conn = reconnect(conn, settings)
                lease = parts.restart(conn, lease, settings.part_lease_s)
    except LeaseLost as error:
        log.warning("%s: another worker has it now", error)
    except JobInterrupted as interrupted:
        log.info("part %s %s of job %s stops: the job is %s", kind, index, job_id, interrupted.status)
        if lease is not None:
            parts.release(conn, lease)
    finally:
        conn.close()


def _run_once(conn: psycopg.Connection, lease: Lease, source: JobSource, settings: Settings,
              send_part: SendPart, send_summary: SendSummary) -> None:
    """One attempt at the part. A dependency that goes away raises DependencyDown; any other failure ends the
    job (failed, with its code) and gives the part back."""
    try:
        endpoint = endpoint_for(settings.triton_endpoints, f"{lease.job_id}:{lease.kind}:{lease.index}", lease.attempt)
        with TritonClient(endpoint, settings.triton_timeout_s) as triton, \
                time_stage("all", lease.kind):
            reads = checked_again(conn, source, settings) if lease.kind in ("frames", "audio") else source
            if not _analyse(conn, lease, reads, settings, triton):
                parts.release(conn, lease)
                return
        if lease.kind == "rules":
            _end(conn, lease, source, settings, send_summary)
            return
        parts.complete(conn, lease, settings.part_lease_s)
        # The job's next parts (held while it had its share in the queue, or the rules once all else is done).
        if todo := parts.parts_to_send(conn, lease.job_id, settings.effective_job_parts_in_flight, resend=False):
            current = jobs.get_job(conn, lease.job_id, None)  # its priority may have changed meanwhile
            send_parts(conn, settings, send_part, lease.job_id, todo, current.priority if current else
                       source.job.priority)
    except (LeaseLost, JobInterrupted):
        raise
    except TritonError as error:
        if error.unavailable:
            raise DependencyDown(ErrorCode.inference_unavailable, f"Triton is unavailable ({error})") from None
        _give_up(conn, lease, source, ErrorCode.inference_failed, f"inference failed: {error}", True, settings)
    except psycopg.OperationalError as error:
        raise DependencyDown(ErrorCode.database_unavailable, f"Postgres is unavailable ({error})") from None
    except MediaError as error:
        _give_up(conn, lease, source, error.code, error.message, False, settings)
    except outbound.OutboundRefused as error:
        # A server that failed may answer a retry; a URL refused or a file too large will not change.
        _give_up(conn, lease, source, ErrorCode(error.code), error.message,
                 error.code == ErrorCode.download_failed, settings)
    except Exception as error:
        log.exception("part %s %s of job %s failed unexpectedly", lease.kind, lease.index, lease.job_id)
        _give_up(conn, lease, source, ErrorCode.internal_error, f"internal error: {type(error).__name__}", True,
                 settings)


def _end(conn: psycopg.Connection, lease: Lease, source: JobSource, settings: Settings,
         send_summary: SendSummary) -> None:
    """The rules are done, so the job is: it ends with its coverage, succeeded (with its warnings) or failed
    (nothing decoded, or too little by ``low_coverage_fails``). A succeeded job's video is kept for review for
    its team's retention; the maintenance sweep removes it after. A succeeded job gets its summary."""
    assert source.job.media is not None
    summary = coverage.summarise(parts.decoded(conn, lease.job_id), source.job.media.duration_s)
    end = coverage.ending(summary, settings)
    with conn.transaction():
        parts.complete(conn, lease, settings.part_lease_s)
        jobs.set_coverage(conn, lease.job_id, summary, end.warnings)
        ended = jobs.transition(conn, lease.job_id, [JobStatus.running],
                                   JobStatus.succeeded if end.failure is None else JobStatus.failed, ACTOR,
                                   error=end.failure)
        succeeded = ended is not None and ended.status == JobStatus.succeeded
        # In the same transaction: whoever sees the job succeeded sees its summary (or that one is on its way).
        summary_to_send = succeeded and new_summary(conn, lease.job_id, settings)
        kept = succeeded and source.owns_media and retention.keep_media(conn, lease.job_id, settings.media_retention_s)
    if not kept:
        remove_media(source)
    if ended is not None:
        count_job_end(ended.status, end.failure[0] if end.failure else None)
    if summary_to_send:
        send_summary(lease.job_id)


def _give_up(conn: psycopg.Connection, lease: Lease, source: JobSource, code: ErrorCode, message: str,
             retryable: bool, settings: Settings) -> None:
    """Fail the job; a failure no retry cures leaves nothing on disk, the thumbnails written so far included."""
    fail(conn, source, code, message, retryable)
    parts.release(conn, lease)
    if not retryable:
        remove_thumbnails(settings, lease.job_id)


def _analyse(conn: psycopg.Connection, lease: Lease, source: JobSource, settings: Settings,
             triton: TritonClient) -> bool:
    """The part's own work; False if it ended the job (a fetched video that cannot be analysed)."""
    if lease.kind == "fetch":
        return run_fetch(conn, lease, source, settings)
    fps = source.options.sample_fps or settings.sample_fps
    min_scores = job_min_scores(source.options, settings)
    if lease.kind == "frames":
        run_frames(conn, lease, source, fps, min_scores, triton, settings)
    elif lease.kind == "audio":
        assert source.job.media is not None
        for module, cls in stage_classes(ModuleKind.audio, AudioStage).items():
            if module in source.modules:
                stage = cls(triton, min_scores[module], settings)
                parts.store(conn, lease, stage.run(source.path, source.job.media), settings.part_lease_s)
    else:
        jobs.set_step(conn, lease.job_id, "rules")
        run_rules(conn, lease, source.team_id, source.modules, fps, min_scores, triton, settings)
    return True
