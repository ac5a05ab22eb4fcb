"""Fault injection: jobs survive their worker SIGKILLed at random moments, with every finding stored once.

    .venv/bin/python -m benchmarks.fault_injection [--jobs 20] [--kills 5] [--seed 1]

Starts a stack of its own (a temporary state folder, free ports, the nudity model only, 2 s chunks, 4 s part
leases, two worker processes), analyses the sample video once undisturbed for the reference findings, then
submits the jobs and, while they run, kills the worker's whole process group (SIGKILL) at random moments,
starting it again each time. Once every job has ended, each is checked against the reference: a job is lost if
it did not succeed or lacks a finding, duplicated if a finding is stored twice or one is extra. It prints
``N submitted, S succeeded, L lost, D duplicated``, writes that with a table of the jobs to
``benchmarks/results/fault_injection.md``, and exits with 1 if any job was lost or duplicated.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tests.helpers.support import (
    FINAL_STATUSES,
    FindingKey,
    finding_keys,
    isolated_settings,
    stack_client,
    submit,
    wait_for_job,
)
from vidsafe.deploy import stack
from vidsafe.export.sample_video import make_sample_video
from vidsafe.settings import Settings

RESULTS = Path(__file__).with_name("results") / "fault_injection.md"
WAIT_LIMIT_S = 900.0
# A message the worker had fetched but not started when killed waits in Redis for its visibility timeout
# (hours); the maintenance loop sends its part again after this instead (default 900 s).
RESEND_PENDING_AFTER_S = 15.0


@dataclass(frozen=True)
class Outcome:
    job_id: str
    status: str
    findings: Counter[FindingKey]
    attempts: list[int]  # of each part, frames chunks in time order, then the rules

    def lost(self, reference: Counter[FindingKey]) -> bool:
        return self.status != "succeeded" or bool(reference - self.findings)

    def duplicated(self, reference: Counter[FindingKey]) -> bool:
        return bool(self.findings - reference)


def _settings(state_dir: Path) -> Settings:
    return isolated_settings(
        state_dir, served_modules=["nudity"], default_modules=["nudity"], sample_fps=4, chunk_s=2.0, part_lease_s=4.0,
        maintenance_interval_s=1.0, resend_pending_after_s=RESEND_PENDING_AFTER_S, worker_concurrency=2,
    )


def _status(api: httpx.Client, job_id: str) -> str:
    return api.get(f"/v1/jobs/{job_id}").raise_for_status().json()["status"]


def _outcome(api: httpx.Client, settings: Settings, job_id: str) -> Outcome:
    with psycopg.connect(settings.effective_database_url) as conn:
        attempts = [a for (a,) in conn.execute("SELECT attempt FROM job_parts WHERE job_id = %s "
                                               "ORDER BY kind = 'rules', kind, index", (job_id,))]
    return Outcome(job_id, _status(api, job_id), finding_keys(api, job_id, box_decimals=1), attempts)


def _kill_worker(settings: Settings) -> None:
    """SIGKILL the worker's process group (the Celery main process and its pool), then start it again."""
    record = stack.read_record(settings, "worker")
    if record is not None and record.process() is not None:
        os.killpg(record.pid, signal.SIGKILL)
        while record.process() is not None:
            time.sleep(0.05)
    stack.up(settings, names=["worker"])


def _run(settings: Settings, api: httpx.Client, video: Path, jobs: int, kills: int,
         rng: random.Random) -> tuple[Counter[FindingKey], float, list[Outcome], int]:
    """The reference findings and run time, then the jobs under fire: their outcomes and the kills made."""
    start = time.monotonic()
    reference_job = submit(api, video)
    wait_for_job(api, reference_job, timeout_s=WAIT_LIMIT_S)
    reference = _outcome(api, settings, reference_job)
    if reference.status != "succeeded" or not reference.findings:
        raise SystemExit(f"the reference run did not succeed with findings: {reference}")
    reference_s = time.monotonic() - start

    job_ids = [submit(api, video) for _ in range(jobs)]
    # Kills spread over the time the jobs would take undisturbed (two at a time), each gap drawn at random.
    mean_gap_s = reference_s * jobs / settings.worker_concurrency / (kills + 1)
    next_kill = time.monotonic() + rng.uniform(0, 2 * mean_gap_s)
    made, pending = 0, set(job_ids)
    deadline = time.monotonic() + WAIT_LIMIT_S
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()) as bar:
        task = bar.add_task(f"jobs (kills 0/{kills})", total=jobs)
        while pending and time.monotonic() < deadline:
            if made < kills and time.monotonic() >= next_kill:
                _kill_worker(settings)
                made += 1
                bar.update(task, description=f"jobs (kills {made}/{kills})")
                next_kill = time.monotonic() + rng.uniform(0, 2 * mean_gap_s)
            pending = {job_id for job_id in pending if _status(api, job_id) not in FINAL_STATUSES}
            bar.update(task, completed=jobs - len(pending))
            time.sleep(0.2)
    return reference.findings, reference_s, [_outcome(api, settings, job_id) for job_id in job_ids], made


def _report(outcomes: list[Outcome], reference: Counter[FindingKey], summary: str, args: argparse.Namespace,
            kills: int, reference_s: float, elapsed_s: float) -> None:
    lines = [
        "# Fault injection: the worker killed mid-job",
        "",
        f"Measured by `python -m benchmarks.fault_injection --jobs {args.jobs} --kills {args.kills} "
        f"--seed {args.seed}` "
        f"on {platform.node()} ({os.cpu_count()} CPUs, {platform.machine()}), {time.strftime('%Y-%m-%d')}: the "
        "12 s sample video at 4 fps, nudity only, 2 s chunks, 4 s part leases, 2 worker processes, "
        f"resend_pending_after_s {RESEND_PENDING_AFTER_S:g}. The worker's process group was SIGKILLed {kills} times "
        f"at random moments and started again each time. An undisturbed run took {reference_s:.1f} s with "
        f"{sum(reference.values())} findings; the {args.jobs} jobs under fire took {elapsed_s:.1f} s.",
        "",
        f"**{summary}**",
        "",
        "| job | status | findings | part attempts (chunks, then rules) |",
        "|---|---|---|---|",
    ]
    for outcome in outcomes:
        attempts = " ".join(str(a) for a in outcome.attempts)
        lines.append(f"| {outcome.job_id[:8]} | {outcome.status} | {sum(outcome.findings.values())} | {attempts} |")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=20, help="jobs to submit (default 20)")
    parser.add_argument("--kills", type=int, default=5, help="times to SIGKILL the worker (default 5)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the kill moments (default 1)")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="vidsafe-faults-"))
    settings = _settings(root / "state")
    try:
        video = make_sample_video(root / "sample.mp4", speech=None)
        print("starting a stack of its own ...", flush=True)
        stack.up(settings)
        with stack_client(settings) as api:
            start = time.monotonic()
            reference, reference_s, outcomes, kills = _run(settings, api, video, args.jobs, args.kills,
                                                           random.Random(args.seed))
            elapsed_s = time.monotonic() - start - reference_s
    finally:
        stack.down(settings)
        shutil.rmtree(root, ignore_errors=True)

    succeeded = sum(outcome.status == "succeeded" for outcome in outcomes)
    lost = sum(outcome.lost(reference) for outcome in outcomes)
    duplicated = sum(outcome.duplicated(reference) for outcome in outcomes)
    summary = f"{len(outcomes)} submitted, {succeeded} succeeded, {lost} lost, {duplicated} duplicated"
    print(summary)
    _report(outcomes, reference, summary, args, kills, reference_s, elapsed_s)
    print(f"written to {RESULTS}")
    sys.exit(1 if lost or duplicated else 0)


if __name__ == "__main__":
    main()
