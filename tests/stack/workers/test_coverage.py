"""Coverage: what a player plays is analysed, and a job says how much of its video it analysed. Corrupt packets
are skipped (the job reports the stretches it could not decode, and warns below min_coverage), containers
without a duration are measured, a late first timestamp is not a long video, and rotation is applied before
analysis, so findings are in the upright frame."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import httpx
import psycopg
import pytest

from tests.helpers import hostile_corpus
from tests.helpers.support import upload, wait_for_job
from vidsafe.settings import Settings

NUDITY = '{"modules": ["nudity"]}'
OCR = '{"modules": ["ocr"]}'


@pytest.mark.usefixtures("webhook_secret")  # the callback URL needs one
def test_a_corrupt_start_is_skipped_and_the_job_warns(api: httpx.Client, running_stack: Settings,
                                                      tmp_path: Path) -> None:
    video = hostile_corpus.corrupt_first_keyframe(tmp_path)
    created = upload(api, video, options=NUDITY, params={"callback_url": "http://127.0.0.1:9/hook"})
    job = wait_for_job(api, created.json()["id"])
    assert job["status"] == "succeeded", job
    assert job["coverage"] == {"frames_expected": 12, "frames_analyzed": 10, "share": pytest.approx(0.8333, abs=1e-3),
                               "undecodable": [{"start_s": 0.0, "end_s": pytest.approx(1.0, abs=0.01)}],
                               "packets_skipped": 1}
    assert [w["code"] for w in job["warnings"]] == ["partial_coverage"]
    # The webhook event carries it too.
    with psycopg.connect(running_stack.effective_database_url) as conn:
        (event,) = conn.execute("SELECT event FROM webhook_deliveries WHERE job_id = %s", (job["id"],)).fetchone()
    assert event["type"] == "job.succeeded" and event["job"]["coverage"]["share"] == job["coverage"]["share"]
    assert event["job"]["warnings"][0]["code"] == "partial_coverage"
    # And the CLI.
    shown = subprocess.run([sys.executable, "-m", "vidsafe.cli", "job", "show", job["id"]], capture_output=True,
                           text=True, env={"PATH": "/usr/bin:/bin", **running_stack.to_env(), "COLUMNS": "200"})
    assert "coverage 83%: 10 of 12 frames" in shown.stdout and "warning partial_coverage" in shown.stdout, shown


@pytest.mark.parametrize(("make", "frames", "undecodable"), [
    (hostile_corpus.corrupt_inside_a_gop, 12, []),
    (hostile_corpus.corrupt_stretch, 8, [{"start_s": 2.0, "end_s": 4.0}]),
], ids=["inside-a-gop", "stretch"])
def test_corruption_midway_is_skipped(api: httpx.Client, tmp_path: Path, make, frames: int,
                                      undecodable: list[dict]) -> None:
    job = wait_for_job(api, upload(api, make(tmp_path), options=NUDITY).json()["id"])
    assert job["status"] == "succeeded", job
    coverage = job["coverage"]
    assert (coverage["frames_expected"], coverage["frames_analyzed"]) == (12, frames)
    assert coverage["undecodable"] == [{k: pytest.approx(v, abs=0.11) for k, v in r.items()} for r in undecodable]
    assert [w["code"] for w in job["warnings"]] == (["partial_coverage"] if undecodable else [])


@pytest.mark.parametrize(("make", "scanned"), [(hostile_corpus.piped_webm, True), (hostile_corpus.late_start, False)],
                         ids=["piped-webm", "late-start"])
def test_measured_durations(api: httpx.Client, tmp_path: Path, make, scanned: bool) -> None:
    job = wait_for_job(api, upload(api, make(tmp_path), options=NUDITY).json()["id"])
    assert job["status"] == "succeeded" and job["warnings"] == [], job
    assert job["media"]["duration_s"] == pytest.approx(4.0, abs=0.01)
    assert job["media"]["duration_scanned"] == scanned
    assert job["coverage"]["frames_analyzed"] == job["coverage"]["frames_expected"] == 8


def _first_seconds(video: Path, seconds: float) -> list:
    with av.open(str(video)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0) if frame.time < seconds]


def test_findings_of_a_rotated_video_are_in_the_upright_frame(api: httpx.Client, sample_video: Path,
                                                             tmp_path: Path) -> None:
    """The sample's caption, stored sideways with a display matrix: OCR reads it, in the same place as in the
    same frames stored upright."""
    frames = _first_seconds(sample_video, 2.0)
    upright = hostile_corpus.encode(tmp_path / "upright.mp4", frames=frames, fps=25, size=(640, 360),
                                    options={"preset": "ultrafast"})
    sideways = hostile_corpus.rotated(tmp_path, frames, fps=25)
    jobs = [wait_for_job(api, upload(api, path, options=OCR).json()["id"]) for path in (upright, sideways)]
    assert [job["status"] for job in jobs] == ["succeeded", "succeeded"]
    assert (jobs[1]["media"]["width"], jobs[1]["media"]["height"], jobs[1]["media"]["rotation"]) == (640, 360, 90)
    captions = []
    for job in jobs:
        found = api.get(f"/v1/jobs/{job['id']}/findings", params={"module": "ocr"}).json()["findings"]
        (caption,) = [f for f in found if f["frame_index"] == 0 and "GIFT" in f["text"].replace(" ", "")]
        captions.append(caption)
    assert captions[1]["text"] == captions[0]["text"]
    assert captions[1]["box"] == pytest.approx(captions[0]["box"], abs=6), "the same place in the upright frame"
    x1, y1, x2, y2 = captions[1]["box"]
    assert 0 <= x1 < x2 <= 640 and 0 <= y1 < y2 <= 360
