"""The review UI's memory while a reviewer opens twenty long videos one after another, in a real browser.

    .venv/bin/python -m benchmarks.ui_memory [--videos 20] [--minutes 10] [--play-s 3]

Starts Postgres, Redis, a worker, the gateway and the UI of a stack of its own (no Triton: nothing is analysed),
writes one long video (``--minutes`` of 640x360, the sample's scenes over and over), seeds ``--videos`` analysed
jobs of it (each its own copy, with flagged segments every minute) and, in Debian's chromium driven by Playwright,
opens each one's review page, plays ``--play-s`` seconds and seeks to its middle. After each, the UI process's
resident memory (RSS) is read. The player streams each video from the gateway by its signed link, so the UI's
process should hold none of them: its memory stays flat. The figures go to ``benchmarks/results/ui_memory.md``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import psutil
import psycopg
from playwright.sync_api import sync_playwright
from psycopg.types.json import Jsonb

from benchmarks.review_pages import _cpu
from tests.helpers.support import isolated_settings
from vidsafe.apikeys import local_key_path
from vidsafe.db.teams import OPERATOR_TEAM_ID
from vidsafe.deploy import stack
from vidsafe.export.sample_video import SAMPLE_SCENES, Scene, make_sample_video
from vidsafe.media.probe import probe_video
from vidsafe.settings import Settings

RESULTS = Path(__file__).with_name("results") / "ui_memory.md"
CHROMIUM = "/usr/bin/chromium"


def long_video(path: Path, minutes: float) -> Path:
    """The sample's scenes repeated for ``minutes``, silent, at 640x360."""
    span = SAMPLE_SCENES[-1].end_s
    scenes = tuple(Scene(s.photo, s.start_s + n * span, s.end_s + n * span, caption=s.caption)
                   for n in range(int(minutes * 60 // span)) for s in SAMPLE_SCENES)
    return make_sample_video(path, scenes, speech=None, size=(640, 360))


def seed(settings: Settings, video: Path, copies: int, folder: Path) -> list[str]:
    """``copies`` analysed jobs, each of its own copy of the video (a server-side file: kept for review)."""
    info = probe_video(video, settings)
    ids = []
    with psycopg.connect(settings.effective_database_url, autocommit=True) as conn, conn.transaction():
        for n in range(copies):
            job_id = uuid.uuid4()
            copy = folder / f"long-{n:02d}.mp4"
            shutil.copy(video, copy)
            conn.execute("INSERT INTO jobs (id, team_id, status, source_name, media_path, owns_media, media, "
                         "progress, frames_analyzed, risk, finished_at) VALUES (%s, %s, 'succeeded', %s, %s, false, "
                         "%s, 1, 1, 0.9, now())", (job_id, OPERATOR_TEAM_ID, copy.name, str(copy),
                                                   Jsonb(info.model_dump(mode="json"))))
            conn.execute("INSERT INTO review_items (job_id, team_id, risk) VALUES (%s, %s, 0.9)",
                         (job_id, OPERATOR_TEAM_ID))
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO segments (job_id, module, label, start_s, end_s, max_score, mean_score, count) "
                    "VALUES (%s, 'nudity', 'FEMALE_BREAST_EXPOSED', %s, %s, 0.9, 0.8, 4)",
                    [(job_id, minute * 60.0 + 10, minute * 60.0 + 14) for minute in range(int(info.duration_s // 60))])
            ids.append(str(job_id))
    return ids


def ui_process(settings: Settings) -> psutil.Process:
    return next(p for p in stack.stack_processes(settings) if any("streamlit" in part for part in p.cmdline()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=20)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--play-s", type=float, default=3.0)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="vidsafe-bench-ui-memory-"))
    settings = isolated_settings(root / "state")
    rows: list[tuple[str, float]] = []
    try:
        started = time.perf_counter()
        video = long_video(root / "long.mp4", args.minutes)
        print(f"wrote a {args.minutes:g}-minute video of {video.stat().st_size / 1e6:.0f} MB in "
              f"{time.perf_counter() - started:.0f} s")
        stack.up(settings, names=["postgres", "redis", "worker", "gateway", "ui"])
        jobs = seed(settings, video, args.videos, root)
        key = local_key_path(settings).read_text().strip()
        ui = ui_process(settings)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.set_default_timeout(120_000)
            page.goto(settings.ui_url)
            page.get_by_label("API key").fill(key)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("heading", name="Review queue").wait_for()
            rows.append(("signed in, the queue open", ui.memory_info().rss / 2**20))
            for n, job_id in enumerate(jobs, start=1):
                page.goto(f"{settings.ui_url}/review?job={job_id}")
                video_element = page.locator("video")
                video_element.wait_for()
                video_element.evaluate("v => new Promise(done => v.readyState >= 1 ? done() : "
                                       "v.addEventListener('loadedmetadata', done, {once: true}))")
                video_element.evaluate("v => { v.muted = true; return v.play(); }")
                page.wait_for_timeout(args.play_s * 1000)
                video_element.evaluate("v => { v.currentTime = v.duration / 2; }")
                page.wait_for_timeout(1000)
                rss = ui.memory_info().rss / 2**20
                rows.append((f"review page {n} open, played {args.play_s:g} s and seeked", rss))
                print(f"video {n:2d}: UI RSS {rss:7.1f} MiB")
            browser.close()
    finally:
        stack.down(settings)
        shutil.rmtree(root, ignore_errors=True)
    first, peak = rows[1][1], max(rss for _, rss in rows)
    lines = [f"# The review UI's memory over {args.videos} long videos", "",
             f"`python -m benchmarks.ui_memory --videos {args.videos} --minutes {args.minutes:g} --play-s "
             f"{args.play_s:g}` on {_cpu()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}: each review page "
             "opened in chromium, its video played and seeked; the UI process's RSS after each.", "",
             "| after | UI RSS (MiB) |", "|---|---:|", *(f"| {name} | {rss:.1f} |" for name, rss in rows), "",
             f"From the first review page to the last: {rows[-1][1] - first:+.1f} MiB (peak {peak:.1f} MiB). Before "
             "the player streamed from the gateway, the UI's process held each video it showed: 331 -> 625 MB after "
             "one 31 MB video opened by two keys (issue 27)."]
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
