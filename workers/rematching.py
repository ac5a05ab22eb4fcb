"""Re-matching: a hash list's entries (after an import, or none after its removal) against the team's past
jobs, in the background, from the frame hashes the jobs kept. A job whose matches change gets its segments and
risk and summary again, so a video that matches a newly listed hash rises in the review queue and its summary says
so."""

from __future__ import annotations

import logging
from uuid import UUID

from vidsafe.db import hash_lists, known_content
from vidsafe.domain.fields import BackgroundState
from vidsafe.settings import Settings
from vidsafe.workers.jobs import connect, load_source
from vidsafe.workers.known_content import match_job, team_index
from vidsafe.workers.rules import refresh_risk
from vidsafe.workers.summaries import SendSummary, new_summary

log = logging.getLogger(__name__)

# The part its findings belong to (no lease: the job has ended, and the job's row is locked while they change).
REMATCH_PART = ("rematch", 0)


def rematch_list(team_id: UUID, list_id: UUID, settings: Settings, send_summary: SendSummary) -> None:
    with connect(settings) as conn:
        exists = hash_lists.list_team(conn, list_id) == team_id
        if exists:
            hash_lists.set_rematch(conn, list_id, BackgroundState.running)
        try:
            index = team_index(conn, team_id, settings, [list_id])
            jobs = known_content.hashed_jobs(conn, team_id)
            matched = 0
            for job_id in jobs:
                removed, added = match_job(conn, job_id, index, [list_id], settings, REMATCH_PART)
                matched += added > 0
                source = load_source(conn, job_id) if removed or added else None
                if source is not None:
                    refresh_risk(conn, job_id, team_id, source.options.sample_fps or settings.sample_fps, settings)
                    if new_summary(conn, job_id, settings):  # its summary must not tell of the job as it was
                        send_summary(job_id)
        except Exception as error:
            log.exception("re-matching list %s failed", list_id)
            if exists:
                hash_lists.set_rematch(conn, list_id, BackgroundState.failed, error=f"{type(error).__name__}: {error}")
            raise
        log.info("list %s re-matched against %d past jobs: %d match", list_id, len(jobs), matched)
        if exists:
            hash_lists.set_rematch(conn, list_id, BackgroundState.done, len(jobs), matched)
