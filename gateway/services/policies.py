"""Team policies: a version saved (checked against the team's term banks), versions read, and a dry run of a policy
over the team's past jobs that changes nothing: their risk recomputed by it from their segments as they are, and
from the terms it adds matched on what they said and showed written."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from uuid import UUID, uuid4

import psycopg
from celery import Celery

from vidsafe.catalogue import Module
from vidsafe.db import audit, policies, rules, term_banks
from vidsafe.domain.errors import ErrorCode
from vidsafe.domain.fields import BackgroundState
from vidsafe.domain.findings import Segment
from vidsafe.domain.policies import (
    REVIEW_AT,
    DryRun,
    JobChange,
    Policy,
    PolicyDocument,
    RejudgingStatus,
)
from vidsafe.domain.rules import RuleDryRun
from vidsafe.gateway.dependencies import Caller
from vidsafe.gateway.refusals import Refusal
from vidsafe.gateway.services.queueing import sending
from vidsafe.policy import policy_banks, text_judging
from vidsafe.queue import send_rejudging
from vidsafe.risk import RISK_EPSILON, job_risk
from vidsafe.rules import JobSignals, fires, rated
from vidsafe.settings import Settings
from vidsafe.text.banks import TermMatcher

DRY_RUN_JOBS = 5000  # the newest past jobs a dry run compares
EXAMPLES_SHOWN = 20


def within_limits(document: PolicyDocument) -> PolicyDocument:
    if (passed := document.limit_passed()) is not None:
        raise Refusal(422, ErrorCode.policy_too_large, passed)
    if (passed := document.rules_limit_passed()) is not None:
        raise Refusal(422, ErrorCode.too_many_rules, passed)
    return document


def save(conn: psycopg.Connection, caller: Caller, document: PolicyDocument) -> Policy:
    """A new live version; refused where it passes a limit, or a term bank's category would be gone."""
    within_limits(document)
    names = {c.name for c in document.categories}
    orphaned = sorted({f"{b.name} ({b.category})" for b in term_banks.list_banks(conn, caller.team_id)
                       if b.category not in names})
    if orphaned:
        raise Refusal(409, ErrorCode.category_in_use, "the policy drops categories the team's term banks evidence: "
                      f"{', '.join(orphaned)}; delete those banks first, or keep the categories")
    with conn.transaction():
        saved = policies.save(conn, caller.team_id, document, caller.actor)
        audit.record(conn, caller.team_id, caller.actor, "policy.saved", f"version {saved.version}",
                     version=saved.version, categories=len(document.categories))
    return saved


def version(conn: psycopg.Connection, team_id: UUID, number: int, settings: Settings) -> Policy:
    found = policies.policy_at(conn, team_id, number, settings)
    if found is None:
        raise Refusal(404, ErrorCode.policy_version_not_found, f"the team has no policy version {number}")
    return found


def dry_run(conn: psycopg.Connection, team_id: UUID, candidate: PolicyDocument, settings: Settings) -> DryRun:
    """What ``candidate`` would change on the team's newest past jobs: risk from their segments as they are,
    flagged or not, place in the queue."""
    within_limits(candidate)
    clock = time.perf_counter()
    live = policies.team_policy(conn, team_id, settings)
    jobs = policies.judged_jobs(conn, team_id, DRY_RUN_JOBS)
    as_they_are = {job_id: segments for job_id, _, _, segments in jobs}
    new_terms = NewTerms(candidate, live.document)
    if new_terms.matcher is not None:
        said = policies.readings(conn, [job_id for job_id, *_ in jobs])
        jobs = [(job_id, name, risk, new_terms.segments(segments, said.get(job_id, [])))
                for job_id, name, risk, segments in jobs]
    after = {job_id: job_risk(segments, candidate) for job_id, _, _, segments in jobs}
    before_rank = _ranks({job_id: risk for job_id, _, risk, _ in jobs})
    after_rank = _ranks({job_id: risk for job_id, (risk, _) in after.items()})
    changes = [JobChange(job_id=job_id, source_name=name, risk_before=risk, risk_after=after[job_id][0],
                         rank_before=before_rank[job_id], rank_after=after_rank[job_id],
                         categories_after=list(dict.fromkeys(r.category for r in after[job_id][1] if r.category)))
               for job_id, name, risk, _ in jobs]
    newly = [c for c in changes if c.risk_after >= REVIEW_AT > c.risk_before]
    cleared = [c for c in changes if c.risk_before >= REVIEW_AT > c.risk_after]
    moves = sorted((c for c in changes if c.rank_after != c.rank_before),
                   key=lambda c: -abs(c.rank_after - c.rank_before))
    changed = sorted((c for c in changes if abs(c.risk_after - c.risk_before) > RISK_EPSILON),
                     key=lambda c: -abs(c.risk_after - c.risk_before))
    return DryRun(compared_version=live.version, jobs_compared=len(changes), flag_at=REVIEW_AT,
                  newly_flagged=len(newly), no_longer_flagged=len(cleared),
                  risk_changed=len(changed), largest_risk_changes=changed[:EXAMPLES_SHOWN],
                  examples_newly_flagged=newly[:EXAMPLES_SHOWN], examples_no_longer_flagged=cleared[:EXAMPLES_SHOWN],
                  largest_moves=moves[:EXAMPLES_SHOWN],
                  text_rejudging_needed=text_judging(candidate) != text_judging(live.document),
                  readings_matching_new_terms=new_terms.matched,
                  rules=_rules_dry_run(conn, candidate, live.document, jobs, as_they_are, after),
                  seconds=round(time.perf_counter() - clock, 3))


def _rules_dry_run(conn: psycopg.Connection, candidate: PolicyDocument, live: PolicyDocument,
                   jobs: list[tuple[UUID, str, float, list[Segment]]], as_they_are: dict[UUID, list[Segment]],
                   after: dict[UUID, tuple[float, list]]) -> list[RuleDryRun]:
    """Each rule of the candidate (whatever its state) on the jobs as the candidate judges them, against the live
    policy's rule of the same name on the jobs as they are."""
    if not candidate.rules:
        return []
    signals = rules.jobs_signals(conn, [job_id for job_id, *_ in jobs])
    live_rules = {rule.name: rule for rule in live.rules}
    fired: dict[str, list[UUID]] = {rule.name: [] for rule in candidate.rules}
    before = dict.fromkeys(fired, 0)
    for job_id, _, risk, segments in jobs:
        batch_id, languages = signals.get(job_id, (None, frozenset()))
        job = JobSignals(job_id, segments, batch_id, languages, after[job_id][0])
        rated_now, rated_before = rated(candidate, segments), None  # each segment's category, once per job
        for rule in candidate.rules:
            if fires(rule, job, rated_now) is None:
                continue
            fired[rule.name].append(job_id)
            if (was := live_rules.get(rule.name)) is not None:
                rated_before = rated_before or rated(live, as_they_are[job_id])
                as_it_was = JobSignals(job_id, as_they_are[job_id], batch_id, languages, risk)
                before[rule.name] += fires(was, as_it_was, rated_before) is not None
    return [RuleDryRun(rule=rule.name, state=rule.state, fires_on=len(fired[rule.name]),
                       fired_before=before[rule.name], examples=fired[rule.name][:EXAMPLES_SHOWN])
            for rule in candidate.rules]


REJUDGING_STALLED_S = 600  # a running re-judging that made no step for this long may be replaced


def rejudge(conn: psycopg.Connection, queue: Celery, caller: Caller, settings: Settings) -> RejudgingStatus:
    """Judge the team's past jobs again by its live policy, in the background; 409 while one is under way."""
    current = rules.rejudging(conn, caller.team_id)
    if current is not None and current.state in (BackgroundState.queued, BackgroundState.running) \
            and (datetime.now(UTC) - current.updated_at).total_seconds() < REJUDGING_STALLED_S:
        raise Refusal(409, ErrorCode.rejudging_running, f"re-judging by version {current.version} is under way "
                      f"({current.jobs_done} of {current.jobs_total or '?'} jobs): wait for it to end")
    live = policies.team_policy(conn, caller.team_id, settings)
    run_id = uuid4()
    status = rules.request_rejudging(conn, caller.team_id, run_id, live.version, caller.actor)
    with sending(", so past jobs are not re-judged; ask again to retry",
                 undo=lambda: rules.set_rejudging(conn, caller.team_id, run_id, BackgroundState.failed,
                                                  error="the job queue was unreachable")):
        send_rejudging(queue, caller.team_id, run_id)
    audit.record(conn, caller.team_id, caller.actor, "policy.rejudging", f"version {live.version}",
                 version=live.version)
    return status


def rejudging(conn: psycopg.Connection, team_id: UUID) -> RejudgingStatus:
    found = rules.rejudging(conn, team_id)
    if found is None:
        raise Refusal(404, ErrorCode.rejudging_not_found, "the team's past jobs were never re-judged")
    return found


class NewTerms:
    """The terms a candidate policy's categories have and the live one's lack, matched on what past jobs said and
    showed written: each category they match becomes one text segment of the job, over the readings matched (score
    1, as a term's), in place of the job's text segments of that category it overlaps."""

    def __init__(self, candidate: PolicyDocument, live: PolicyDocument) -> None:
        banks = policy_banks(candidate, only_new_since=live)
        self.matcher = TermMatcher(banks) if banks else None
        self.matched = 0
        self._categories: dict[str, set[str]] = {}  # text -> the categories it matches

    def categories(self, text: str) -> set[str]:
        if text not in self._categories:
            assert self.matcher is not None
            self._categories[text] = {m.category for m in self.matcher.matches(text)}
        return self._categories[text]

    def segments(self, segments: list[Segment], said: list[tuple[str, float, float]]) -> list[Segment]:
        spans: dict[str, tuple[float, float]] = {}
        for text, start, end in said:
            for category in self.categories(text):
                self.matched += 1
                first, last = spans.get(category, (start, end))
                spans[category] = min(first, start), max(last, end)
        added = [Segment(module=Module.text, label=category, start_s=start, end_s=end, max_score=1.0,
                         mean_score=1.0, count=1) for category, (start, end) in spans.items()]
        kept = [s for s in segments if not any(s.module == Module.text and s.label == a.label
                                               and s.start_s <= a.end_s and a.start_s <= s.end_s for a in added)]
        return kept + added


def _ranks(risks: dict[UUID, float]) -> dict[UUID, int]:
    order = sorted(risks, key=lambda job_id: (-risks[job_id], str(job_id)))
    return {job_id: rank for rank, job_id in enumerate(order, start=1)}
