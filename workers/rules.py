"""The rules part: what is built on the other parts' findings once they are all done, last the job's risk, the
policy's rules and its item in the review queue."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import psycopg

from vidsafe.catalogue import Module, ModuleKind, rule_inputs
from vidsafe.db import findings, policies, review, rules
from vidsafe.db.parts import Lease
from vidsafe.observability import time_stage
from vidsafe.risk import job_risk
from vidsafe.rules import evaluate, outcome
from vidsafe.settings import Settings
from vidsafe.triton import TritonClient
from vidsafe.workers.faces import assign_identities
from vidsafe.workers.known_content import match_job, team_index
from vidsafe.workers.people import assign_people
from vidsafe.workers.segments import build_segments
from vidsafe.workers.stages import RulesInput, RuleStage, TextStage, stage_classes


def run_rules(conn: psycopg.Connection, lease: Lease, team_id: UUID, modules: set[Module], fps: float,
              min_scores: dict[Module, float], triton: TritonClient, settings: Settings) -> None:
    """Face identities (and the team's people), the rule modules (restraint, text embeddings), the text modules
    (judging what is said and written) and the team's hash lists' matches, then the job's segments and risk."""
    kept = findings.rule_inputs(conn, lease.job_id, [m for m in rule_inputs() if m in modules])
    if Module.faces in modules:
        with time_stage(Module.faces, "identities"):
            faces = [f for f in kept if f.module == Module.faces]
            identities = assign_identities(faces, settings.face_identity_min_cosine)
            findings.merge_attributes(conn, {finding_id: {"identity": n} for finding_id, n in identities.items()})
            assign_people(conn, lease.job_id, team_id, faces, identities, settings.face_identity_min_cosine)
    job = RulesInput(conn, lease, team_id, kept, fps)
    for kind, base in ((ModuleKind.rule, RuleStage), (ModuleKind.text, TextStage)):
        for module, cls in stage_classes(kind, base).items():
            if module in modules:
                with time_stage(module, cls.step):
                    cls(triton, min_scores[module], settings).run(job)
    if Module.known_content in modules:
        with time_stage(Module.known_content, "match"):
            index = team_index(conn, team_id, settings)
            match_job(conn, lease.job_id, index, index.list_ids, settings, (lease.kind, lease.index))
    with time_stage("all", "segments"):
        refresh_risk(conn, lease.job_id, team_id, fps, settings)


@dataclass(frozen=True)
class Judged:
    risk: float
    policy_version: int
    rules_changed: bool  # what the live rules did changed (a summary must be made again)


def refresh_risk(conn: psycopg.Connection, job_id: UUID, team_id: UUID, fps: float, settings: Settings) -> Judged:
    """The job's segments and risk from its findings as they are now, by the team's live policy (and its review
    item's risk), then the policy's rules: their firings recorded, the live ones' outcome applied. The job's row is
    locked throughout, so two judgings of one job (a re-matching, a re-judging) come one after the other."""
    with conn.transaction():
        # NO KEY UPDATE: a decision's insert (its foreign key's KEY SHARE on the job) is not blocked by it
        conn.execute("SELECT 1 FROM jobs WHERE id = %s FOR NO KEY UPDATE", (job_id,))
        segments = build_segments(findings.get_findings(conn, job_id), fps)
        findings.replace_segments(conn, job_id, segments)
        policy = policies.team_policy(conn, team_id, settings)
        risk, reasons = job_risk(segments, policy.document)
        review.set_risk(conn, job_id, risk, reasons, policy.version)
        signals = rules.job_signals(conn, job_id, segments, risk)
        fired = evaluate(policy.document, signals)
        changed = rules.record(conn, job_id, team_id, policy.version, fired, outcome(fired, signals))
    return Judged(risk, policy.version, changed)
