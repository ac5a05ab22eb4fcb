"""The review UI with a few hundred videos: how long its pages and the gateway calls behind them take.

    .venv/bin/python -m benchmarks.review_pages [--jobs 300] [--findings 2000] [--rounds 20]

Starts Postgres, Redis, a worker and the gateway of a stack of its own (no Triton: nothing is analysed), seeds
``--jobs`` succeeded jobs straight into Postgres (each with segments, a risk and a review item; one with ``--findings``
findings, as a long video has) and measures, each call ``--rounds`` times: the queue's first page and counts,
a page of jobs, a job's findings (one page, then every page), its segments, the decisions export, people and
stats; then the queue and review pages run by Streamlit's AppTest, cold (nothing cached) and warm (the
findings, segments and video cached per key). It prints the medians and p95s and writes them to
``benchmarks/results/review_pages.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg
from psycopg.types.json import Jsonb

from tests.helpers.support import isolated_settings
from vidsafe.apikeys import local_key_path
from vidsafe.db.teams import OPERATOR_TEAM_ID
from vidsafe.deploy import stack
from vidsafe.domain.api import API_KEY_HEADER
from vidsafe.settings import Settings

RESULTS = Path(__file__).with_name("results") / "review_pages.md"
LABELS = ["FEMALE_BREAST_EXPOSED", "BUTTOCKS_EXPOSED", "FACE_FEMALE", "BELLY_EXPOSED"]


def seed_jobs(settings: Settings, jobs: int, long_findings: int) -> str:
    """Seed the jobs; the id of the one with many findings."""
    rng = random.Random(1)
    media = {"container": "mov,mp4,m4a,3gp,3g2,mj2", "codec": "h264", "width": 1280, "height": 720,
             "duration_s": 60.0, "fps": 30.0, "size_bytes": 1, "has_audio": True}
    long_job = None
    with psycopg.connect(settings.effective_database_url, autocommit=True) as conn, conn.transaction():
        for n in range(jobs):
            job_id = uuid.uuid4()
            long_job = long_job or str(job_id)
            risk = 1.0 if n == 0 else round(rng.random() * 0.99, 3)
            conn.execute("INSERT INTO jobs (id, team_id, status, source_name, media_path, owns_media, media, "
                         "progress, frames_analyzed, risk, finished_at) VALUES (%s, %s, 'succeeded', %s, '/none', "
                         "false, %s, 1, 120, %s, now())",
                         (job_id, OPERATOR_TEAM_ID, f"video-{n:03d}.mp4", Jsonb(media), risk))
            conn.execute("INSERT INTO review_items (job_id, team_id, risk) VALUES (%s, %s, %s)",
                         (job_id, OPERATOR_TEAM_ID, risk))
            count = long_findings if n == 0 else 40
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO findings (job_id, module, label, score, timestamp_s, frame_index, box) "
                    "VALUES (%s, 'nudity', %s, %s, %s, %s, '{10,10,100,100}')",
                    [(job_id, rng.choice(LABELS), rng.random(), i * 0.5, i) for i in range(count)])
                cur.executemany(
                    "INSERT INTO segments (job_id, module, label, start_s, end_s, max_score, mean_score, count) "
                    "VALUES (%s, 'nudity', %s, %s, %s, 0.9, 0.6, 4)",
                    [(job_id, rng.choice(LABELS), i * 5.0, i * 5.0 + 2) for i in range(8)])
    assert long_job is not None
    return long_job


def _time(call: Callable[[], object], rounds: int) -> tuple[float, float]:
    """Median and p95 of ``rounds`` calls, in milliseconds."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def _pages(settings: Settings, key: str, rounds: int) -> list[tuple[str, float, float]]:
    """The queue page, then the review page (reached by "Claim next"), run by AppTest: the first run (cold, the
    review page's reads not cached yet), then reruns (warm)."""
    from streamlit.testing.v1 import AppTest

    from vidsafe.client import GatewayClient
    from vidsafe.ui import APP_PATH, session

    session.gateway_url = lambda: settings.gateway_url  # type: ignore[assignment]
    with GatewayClient(settings.gateway_url, key) as client:
        me = client.me()
    app = AppTest.from_file(str(APP_PATH), default_timeout=120)
    app.session_state["api_key"] = key
    app.session_state["me"] = me
    rows = []
    start = time.perf_counter()
    app.run()
    rows.append(("queue page (AppTest): first run, then reruns", (time.perf_counter() - start) * 1000,
                 _time(app.run, rounds)[0]))
    start = time.perf_counter()
    app.button(key="claim_next").click().run()
    cold = (time.perf_counter() - start) * 1000
    assert not app.exception and [t.value for t in app.title] != ["Review queue"], "the review page opened"
    rows.append(("review page of the long video (AppTest): first run, then reruns", cold, _time(app.run, rounds)[0]))
    return rows


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--findings", type=int, default=2000, help="Findings of the one long video")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="vidsafe-bench-review-"))
    settings = isolated_settings(root / "state")
    try:
        stack.up(settings, names=["postgres", "redis", "worker", "gateway"])
        job_id = seed_jobs(settings, args.jobs, args.findings)
        key = local_key_path(settings).read_text().strip()
        rows: list[tuple[str, float, float]] = []
        with httpx.Client(base_url=settings.gateway_url, headers={API_KEY_HEADER: key}, timeout=60) as api:
            calls = {
                "queue, first page (25) + counts": lambda: (api.get("/v1/reviews", params={"limit": 25}),
                                                           api.get("/v1/reviews/counts")),
                "jobs, first page (50)": lambda: api.get("/v1/jobs"),
                f"findings of the long video, first page (1000 of {args.findings})":
                    lambda: api.get(f"/v1/jobs/{job_id}/findings"),
                f"findings of the long video, every page ({args.findings})":
                    lambda: api.get(f"/v1/jobs/{job_id}/findings", params={"limit": 10000}),
                "segments of a video": lambda: api.get(f"/v1/jobs/{job_id}/segments"),
                "people, first page": lambda: api.get("/v1/people"),
                "decisions export (CSV)": lambda: api.get("/v1/decisions", params={"format": "csv"}),
                "stats (monitoring)": lambda: api.get("/v1/stats"),
            }
            for name, call in calls.items():
                median, p95 = _time(call, args.rounds)
                rows.append((name, median, p95))
                print(f"{name:70s} median {median:7.1f} ms  p95 {p95:7.1f} ms")
        for name, cold, warm in _pages(settings, key, args.rounds):
            rows.append((name, cold, warm))
            print(f"{name:70s} cold {cold:7.1f} ms  warm median {warm:7.1f} ms")
    finally:
        stack.down(settings)
        shutil.rmtree(root, ignore_errors=True)
    lines = [f"# Review pages with {args.jobs} videos", "",
             f"`python -m benchmarks.review_pages --jobs {args.jobs} --findings {args.findings} --rounds "
             f"{args.rounds}` on {_cpu()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}.", "",
             "| what | median (or cold) ms | p95 (or warm median) ms |", "|---|---:|---:|",
             *(f"| {name} | {a:.1f} | {b:.1f} |" for name, a, b in rows), "",
             *(f"- {name.split(' (')[0]}: a cached rerun is {a / b:.1f}x faster than the first run"
               for name, a, b in rows if "AppTest" in name)]
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
