"""The analysis of one job: probe -> sample -> detect -> store, with the job's state kept in Postgres.

Every outcome ends the job (succeeded, or failed with an error code and a reason) and removes the
uploaded file; a worker never dies of a bad video.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from uuid import UUID

import psycopg

from vidsafe.db import queries
from vidsafe.domain import ErrorCode, MediaError
from vidsafe.media import probe_video
from vidsafe.settings import Settings
from vidsafe.triton import TritonClient, TritonError
from workers.nudity import NudityStage
from workers.sampling import SampledFrame, sample_frames

log = logging.getLogger(__name__)


def analyze_job(job_id: UUID, settings: Settings) -> None:
    with psycopg.connect(settings.effective_database_url, autocommit=True) as conn:
        source = queries.get_media_source(conn, job_id)
        if source is None or not queries.start_job(conn, job_id):
            log.warning("job %s is unknown or already ended; nothing to do", job_id)
            return
        media_path, owns_media = Path(source[0]), source[1]
        try:
            _run(conn, job_id, media_path, settings)
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


def _run(conn: psycopg.Connection, job_id: UUID, media_path: Path, settings: Settings) -> None:
    media = probe_video(media_path, settings)
    queries.set_media(conn, job_id, media)
    expected_frames = max(1, math.ceil(media.duration_s * settings.sample_fps))
    frames = sample_frames(media_path, settings.sample_fps, media.width, media.height)
    analyzed, last_time = 0, 0.0
    with TritonClient(settings.effective_triton_url, settings.triton_timeout_s) as triton:
        stage = NudityStage(triton, settings.nudity_min_score, settings.infer_in_flight)
        for batch, findings in stage.run(_batches(frames, settings.infer_batch_frames)):
            analyzed += len(batch)
            last_time = batch[-1].timestamp_s
            queries.add_findings(conn, job_id, findings, analyzed, analyzed / expected_frames)
    if analyzed == 0:
        raise MediaError(ErrorCode.unreadable_media, "no frame of the video could be decoded")
    # A demuxer may stop quietly at a truncated file's end; frames must reach the declared duration.
    if last_time < media.duration_s - max(2.0 / settings.sample_fps, 1.0):
        raise MediaError(ErrorCode.truncated_media, f"frames end at {last_time:.1f} s of the declared "
                         f"{media.duration_s:.1f} s: the file is truncated")
    log.info("job %s: %d frames analysed", job_id, analyzed)
