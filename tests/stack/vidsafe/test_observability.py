"""Metrics and logs: after a job on the sample video, the gateway's, the worker's and Triton's metrics
endpoints show it, and the worker's log lines about it are JSON carrying its id."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.support import run_job, wait_until
from vidsafe.deploy import stack
from vidsafe.queue import VIDEO_QUEUE, make_celery, send_plan
from vidsafe.settings import Settings

Samples = dict[str, list[tuple[dict[str, str], float]]]


def scrape(url: str) -> Samples:
    """Every sample of a Prometheus text page, by sample name: [(labels, value)]."""
    response = httpx.get(url, timeout=30)  # no API key: scrapers send none
    assert response.status_code == 200, response.text
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """The sum of the samples called ``name`` whose labels include ``labels`` (None: there are none). The parser
    names every counter's sample ``<name>_total``, as OpenMetrics does, even where the page (Triton's) does not."""
    found = [v for sample_name in (name, f"{name}_total") for sample_labels, v in samples.get(sample_name, [])
             if labels.items() <= sample_labels.items()]
    return sum(found) if found else None


def worker_samples(settings: Settings) -> dict:
    return scrape(f"http://{settings.worker_metrics_host}:{settings.worker_metrics_port}/metrics")


@pytest.fixture(scope="module")
def errors_before(running_stack: Settings) -> float:
    """Triton errors the worker counted before this module's job (other tests' failed jobs cancel
    requests still in flight, which count as errors)."""
    return value(worker_samples(running_stack), "vidsafe_triton_request_errors_total", model="nudity") or 0


@pytest.fixture(scope="module")
def finished_job(api: httpx.Client, sample_video: Path, errors_before: float) -> dict:
    job, _ = run_job(api, sample_video)
    return job


def test_gateway_metrics(running_stack: Settings, finished_job: dict) -> None:
    samples = scrape(f"{running_stack.gateway_url}/metrics")
    # Read from Postgres when scraped: the job just finished is counted, and every status has a series.
    assert value(samples, "vidsafe_jobs", status="succeeded") >= 1
    assert all(value(samples, "vidsafe_jobs", status=s) is not None for s in ("queued", "running", "failed"))
    assert value(samples, "vidsafe_queue_depth", queue="videos") is not None  # it moves: see below
    assert value(samples, "vidsafe_scrape_source_up", source="postgres") == 1
    assert value(samples, "vidsafe_scrape_source_up", source="redis") == 1
    # Requests are counted by route template, not by path: one series for every job's polling.
    assert value(samples, "vidsafe_http_requests_total", method="POST", route="/v1/jobs", status="201") >= 1
    assert value(samples, "vidsafe_http_requests_total", method="GET", route="/v1/jobs/{job_id}", status="200") >= 1
    assert value(samples, "vidsafe_http_request_duration_seconds_count", method="GET", route="/v1/jobs/{job_id}") >= 1
    assert not any(finished_job["id"] in labels.get("route", "")
                   for labels, _ in samples["vidsafe_http_requests_total"])
    # /metrics needs no key: teams appear by id, never by name, unless the operator opts in.
    teams = {labels["team"] for labels, _ in samples["vidsafe_team_jobs"]}
    assert teams and all(re.fullmatch(r"[0-9a-f-]{36}", team) for team in teams), teams


def test_worker_metrics(running_stack: Settings, finished_job: dict, errors_before: float) -> None:
    samples = worker_samples(running_stack)
    # Summed over the prefork pool's processes by the main process.
    assert value(samples, "vidsafe_frames_analysed_total") >= finished_job["frames_analyzed"] == 24
    assert value(samples, "vidsafe_triton_request_duration_seconds_count", model="nudity") > 0
    assert value(samples, "vidsafe_triton_request_duration_seconds_sum", model="nudity") > 0
    assert (value(samples, "vidsafe_triton_request_errors_total", model="nudity") or 0) == errors_before
    # Every sample batch of the job went through the nudity stage: 24 frames in batches of 8 at least.
    batches = -(-finished_job["frames_analyzed"] // running_stack.infer_batch_frames)
    assert value(samples, "vidsafe_stage_duration_seconds_count", module="nudity", stage="frame_batch") >= batches
    # The job's parts: three chunks of frames, the audio track, the rules.
    assert value(samples, "vidsafe_stage_duration_seconds_count", module="all", stage="frames") >= 3
    for stage in ("probe", "audio", "rules", "segments"):
        assert value(samples, "vidsafe_stage_duration_seconds_count", module="all", stage=stage) >= 1, stage
    # A histogram's +Inf bucket holds every observation.
    assert value(samples, "vidsafe_stage_duration_seconds_bucket", module="all", stage="frames", le="+Inf") == \
        value(samples, "vidsafe_stage_duration_seconds_count", module="all", stage="frames")


def test_the_queue_depth_counts_the_tasks_waiting(running_stack: Settings, finished_job: dict) -> None:
    """With the worker stopped (SIGSTOP: its pending read of the queue times out within a second), three more tasks
    wait in the queue and the gauge says so; continued, the worker takes them (plan tasks of a job that does not
    exist: no-ops) and the gauge falls back."""
    queue = make_celery(running_stack)

    def depth() -> float | None:
        return value(scrape(f"{running_stack.gateway_url}/metrics"), "vidsafe_queue_depth", queue=VIDEO_QUEUE)

    record = stack.read_record(running_stack, "worker")
    worker = record.process() if record else None
    assert worker is not None, "the stack's worker runs"
    os.killpg(worker.pid, signal.SIGSTOP)  # the Celery main process and its pool
    try:
        time.sleep(2)  # past the broker read's own timeout (1 s): nothing is taken from the queue now
        before = depth()
        assert before is not None
        for priority in (0, 5, 9):  # three of the queue's priority lists
            send_plan(queue, uuid4(), priority)
        assert depth() == before + 3
    finally:
        os.killpg(worker.pid, signal.SIGCONT)
    wait_until(lambda: (depth() or 0) <= before, "the worker took the three tasks")


def test_triton_metrics(running_stack: Settings, finished_job: dict) -> None:
    samples = scrape(f"http://{running_stack.triton_host}:{running_stack.triton_metrics_port}/metrics")
    assert value(samples, "nv_inference_count", model="nudity") > 0
    assert value(samples, "nv_inference_request_success", model="nudity") > 0
    # CPU metrics are on (GPU metrics are off in the local stack: there is no GPU).
    assert value(samples, "nv_cpu_memory_total_bytes") > 0
    assert "nv_cpu_utilization" in samples


def _json_lines(path: Path) -> list[dict]:
    """The log's JSON lines (the launcher writes a plain header line at each start)."""
    entries = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            entries.append(json.loads(line))
    return entries


def test_worker_log_lines_carry_the_job_id(running_stack: Settings, finished_job: dict) -> None:
    entries = _json_lines(running_stack.logs_dir / "worker.log")
    assert entries
    for entry in entries:
        assert {"ts", "level", "logger", "message", "service"} <= entry.keys(), entry
        assert entry["service"] == "worker"
    about_job = [entry for entry in entries if entry.get("job_id") == finished_job["id"]]
    # One line per chunk of frames: their counts add up to the job's.
    chunk_lines = [re.search(r"chunk \d+: (\d+) frames analysed", entry["message"]) for entry in about_job]
    counts = [int(match[1]) for match in chunk_lines if match]
    assert sum(counts) == finished_job["frames_analyzed"], about_job
    # Celery's own loggers come through the same setup.
    assert any(entry["logger"].startswith("celery") for entry in entries)


def test_gateway_log_lines_carry_the_job_id(running_stack: Settings, finished_job: dict) -> None:
    entries = _json_lines(running_stack.logs_dir / "gateway.log")
    polls = [entry for entry in entries if entry.get("job_id") == finished_job["id"]]
    assert any(entry.get("route") == "/v1/jobs/{job_id}" and entry.get("status") == 200 for entry in polls), polls
