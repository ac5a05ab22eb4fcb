"""How long a policy's dry run takes over a team's 5,000 past jobs (``POST /v1/policies/dry-run``'s work): each
job's risk recomputed from its segments by the candidate policy, the terms it adds matched on what the jobs
said and showed written, and each of its rules evaluated on them.

    .venv/bin/python -m benchmarks.policy_dry_run [--jobs 5000] [--rounds 3]

Starts an embedded Postgres of its own (nothing else), seeds the jobs (segments of several modules, OCR lines and
speech segments, some with the phrases the candidate adds), and times the gateway's dry run function on a
connection, as the route calls it. Writes ``benchmarks/results/policy_dry_run.md``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

from benchmarks.e2e import machine, publish
from tests.helpers.support import isolated_settings
from vidsafe.catalogue import Module
from vidsafe.db.migrate import apply_migrations
from vidsafe.db.teams import OPERATOR_TEAM_ID
from vidsafe.deploy import stack
from vidsafe.domain.policies import PolicyCategory, PolicyDocument, Signal
from vidsafe.domain.rules import QueueSpec, Rule
from vidsafe.gateway.services.policies import dry_run
from vidsafe.policy import default_document
from vidsafe.settings import Settings

RESULTS = Path(__file__).with_name("results") / "policy_dry_run.md"
LABELS = [("nudity", "FEMALE_BREAST_EXPOSED"), ("nudity", "BELLY_EXPOSED"), ("text", "scams"), ("restraint", ""),
          ("faces", "face 1"), ("ocr", "text: SALE")]
LINES = ["big sale this weekend", "follow for more", "welcome to my channel", "this clip is not yet released",
         "check it before it is published", "thanks for watching", "FREE GIFT CARDS INSIDE", "see you tomorrow"]


def seed(conn: psycopg.Connection, jobs: int) -> None:
    rng = random.Random(4)
    media = {"container": "mov", "codec": "h264", "width": 1280, "height": 720, "duration_s": 60.0, "fps": 30.0,
             "size_bytes": 1, "has_audio": True}
    with conn.transaction(), conn.cursor() as cur:
        for n in range(jobs):
            job_id = uuid.uuid4()
            cur.execute("INSERT INTO jobs (id, team_id, status, source_name, media_path, owns_media, media, progress, "
                        "frames_analyzed, risk, finished_at) VALUES (%s, %s, 'succeeded', %s, '/none', false, %s, 1, "
                        "120, %s, now())", (job_id, OPERATOR_TEAM_ID, f"video-{n:05d}.mp4", Jsonb(media),
                                           round(rng.random(), 4)))
            cur.executemany("INSERT INTO segments (job_id, module, label, start_s, end_s, max_score, mean_score, "
                            "count) VALUES (%s, %s, %s, %s, %s, %s, %s, 3)",
                            [(job_id, module, label or module, i * 6.0, i * 6.0 + 3, score, score * 0.8)
                             for i in range(8) for module, label in [rng.choice(LABELS)]
                             for score in [round(rng.random(), 3)]])
            cur.executemany("INSERT INTO findings (job_id, module, label, score, timestamp_s, end_s, text) "
                            "VALUES (%s, %s, %s, 0.9, %s, %s, %s)",
                            [(job_id, module, module, i * 2.0, i * 2.0 + 1.5, rng.choice(LINES))
                             for i in range(20) for module in [rng.choice(["ocr", "speech"])]])


def candidate(settings: Settings) -> PolicyDocument:
    document = default_document(settings.risk_severities)
    document.categories.append(PolicyCategory(
        name="pre_release", severity=0.6, signals=[Signal(module=Module.text, labels=["pre_release"])],
        terms=["before it is published", "re:not (yet )?released"]))
    scams = document.category("scams")
    assert scams is not None
    scams.severity = 0.9
    return document.model_copy(update={
        "queues": [QueueSpec(name="scam-desk")],
        "rules": [Rule.model_validate(rule) for rule in (
            {"name": "scams-to-desk", "state": "draft", "conditions": [{"category": "scams", "min_score": 0.5}],
             "actions": [{"type": "route", "queue": "scam-desk", "priority": 5}, {"type": "require_two_reviewers"}]},
            {"name": "long-nudity", "state": "background", "match": "any",
             "conditions": [{"module": "nudity", "min_duration_s": 9}, {"category": "pre_release"}],
             "actions": [{"type": "escalate"}]},
            {"name": "quiet", "state": "live", "conditions": [{"min_count": 0}],
             "actions": [{"type": "auto_approve", "max_risk": 0.1, "sample_share": 0.05}]})]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vidsafe-dry-run-") as root:
        settings = isolated_settings(Path(root) / "state")
        stack.up(settings, names=["postgres"])
        try:
            apply_migrations(settings.effective_database_url)
            with psycopg.connect(settings.effective_database_url, autocommit=True) as conn:
                clock = time.perf_counter()
                seed(conn, args.jobs)
                seed_s = time.perf_counter() - clock
                policy = candidate(settings)
                times, result = [], None
                for _ in range(args.rounds):
                    clock = time.perf_counter()
                    result = dry_run(conn, OPERATOR_TEAM_ID, policy, settings)
                    times.append(time.perf_counter() - clock)
        finally:
            stack.down(settings)
    assert result is not None
    publish(RESULTS, [
        "# Policy dry run over past jobs", "",
        f"Measured by `python -m benchmarks.policy_dry_run` on {machine()}, {time.strftime('%Y-%m-%d')}: "
        f"{args.jobs} succeeded jobs seeded into an embedded Postgres (in {seed_s:.0f} s), each with 8 segments and "
        "20 OCR lines or speech segments; the candidate policy raises a category's severity and adds a category "
        "with a phrase and a regular expression, and three rules. The gateway's dry run function, on one connection, "
        "as the route calls it.", "",
        f"- median of {args.rounds}: {statistics.median(times):.2f} s (all: {', '.join(f'{t:.2f}' for t in times)})",
        f"- jobs compared {result.jobs_compared}, risk changed {result.risk_changed}, newly flagged "
        f"{result.newly_flagged}, no longer flagged {result.no_longer_flagged}, lines matching the new terms "
        f"{result.readings_matching_new_terms}",
        "- its rules (a draft route, a background escalation, a live auto-approval) on the same jobs: "
        + ", ".join(f"{r.rule} ({r.state}) fires on {r.fires_on}" for r in result.rules),
    ])


if __name__ == "__main__":
    main()
