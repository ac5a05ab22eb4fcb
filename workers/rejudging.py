"""Re-judging: a team's past jobs judged again by its live policy, in the background, as re-matching a hash list
is. Each job's texts are judged again (where it ran the text module), then its risk and rules by that version; its
summary is made again where it changed. Progress is on record as it goes (``GET /v1/policies/rejudging``)."""

from __future__ import annotations

import logging
from uuid import UUID

import psycopg

from vidsafe.catalogue import Module, rule_inputs
from vidsafe.db import findings, rules
from vidsafe.domain.fields import BackgroundState
from vidsafe.risk import RISK_EPSILON
from vidsafe.serving import job_min_scores
from vidsafe.settings import Settings
from vidsafe.triton import TritonClient, endpoint_for
from vidsafe.workers.jobs import connect, load_source
from vidsafe.workers.rules import refresh_risk
from vidsafe.workers.summaries import SendSummary, new_summary
from vidsafe.workers.text_judgement import judge_readings

log = logging.getLogger(__name__)

REJUDGE_PART = ("rejudge", 0)  # the part its findings belong to (no lease: the job has ended)
PROGRESS_EVERY = 5  # jobs between progress records


def rejudge_team(team_id: UUID, run_id: UUID, settings: Settings, send_summary: SendSummary) -> None:
    """The run ``run_id`` of the team's re-judging; it stops where a newer request replaced it."""
    with connect(settings) as conn:
        job_ids = rules.succeeded_jobs(conn, team_id)
        if not rules.set_rejudging(conn, team_id, run_id, BackgroundState.running, total=len(job_ids)):
            return
        changed = 0
        try:
            endpoint = endpoint_for(settings.triton_endpoints, f"rejudge:{team_id}", 0)
            with TritonClient(endpoint, settings.triton_timeout_s) as triton:
                for done, job_id in enumerate(job_ids, start=1):
                    changed += _rejudge_job(conn, team_id, job_id, triton, settings, send_summary)
                    if (done % PROGRESS_EVERY == 0 or done == len(job_ids)) and not rules.set_rejudging(
                            conn, team_id, run_id, BackgroundState.running, done=done, changed=changed):
                        log.info("team %s: re-judging %s replaced by a newer request after %d jobs", team_id,
                                 run_id, done)
                        return
        except Exception as error:
            log.exception("re-judging team %s failed", team_id)
            rules.set_rejudging(conn, team_id, run_id, BackgroundState.failed,
                                error=f"{type(error).__name__}: {error}")
            raise
        rules.set_rejudging(conn, team_id, run_id, BackgroundState.done)
        log.info("team %s: %d past jobs re-judged, %d changed risk", team_id, len(job_ids), changed)


def _rejudge_job(conn: psycopg.Connection, team_id: UUID, job_id: UUID, triton: TritonClient, settings: Settings,
                 send_summary: SendSummary) -> bool:
    """Judge one job again; whether its risk changed."""
    source = load_source(conn, job_id)
    if source is None:  # deleted meanwhile
        return False
    modules = source.modules
    if Module.text in modules:
        readings = findings.rule_inputs(conn, job_id, [m for m in rule_inputs() if m in modules])
        minimum = job_min_scores(source.options, settings)[Module.text]
        findings.replace_module_findings(conn, job_id, Module.text,
                                         judge_readings(conn, team_id, readings, triton, settings, minimum),
                                         REJUDGE_PART)
    before = source.job.risk or 0.0
    judged = refresh_risk(conn, job_id, team_id, source.options.sample_fps or settings.sample_fps, settings)
    risk_changed = abs(judged.risk - before) > RISK_EPSILON
    # Its summary must not tell of the job as judged before: another risk, another version, other rules' doing.
    if (risk_changed or judged.policy_version != source.job.policy_version or judged.rules_changed) \
            and new_summary(conn, job_id, settings):
        send_summary(job_id)
    return risk_changed
