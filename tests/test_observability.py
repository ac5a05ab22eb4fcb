"""Metrics and logs: after a job on the sample video, the gateway's, the worker's and Triton's metrics
endpoints show it, and the worker's log lines about it are JSON carrying its id."""

from __future__ import annotations

import io
import json
import logging
import re
import threading
from collections.abc import Iterator
from contextvars import copy_context
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import run_job
from vidsafe.observability import job_context, setup_logging
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
    assert value(samples, "vidsafe_queue_depth", queue="videos") >= 0
    assert value(samples, "vidsafe_scrape_source_up", source="postgres") == 1
    assert value(samples, "vidsafe_scrape_source_up", source="redis") == 1
    # Requests are counted by route template, not by path: one series for every job's polling.
    assert value(samples, "vidsafe_http_requests_total", method="POST", route="/v1/jobs", status="201") >= 1
    assert value(samples, "vidsafe_http_requests_total", method="GET", route="/v1/jobs/{job_id}", status="200") >= 1
    assert value(samples, "vidsafe_http_request_duration_seconds_count", method="GET", route="/v1/jobs/{job_id}") >= 1
    assert not any(finished_job["id"] in labels.get("route", "")
                   for labels, _ in samples["vidsafe_http_requests_total"])


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


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """setup_logging into a buffer for one test; the root logger is put back afterwards (pytest's own
    capture handlers excepted: pytest adds and removes those around each phase itself)."""
    root = logging.getLogger()
    handlers, level, factory = list(root.handlers), root.level, logging.getLogRecordFactory()
    stream = io.StringIO()
    setup_logging(Settings(log_format="json"), "test", stream=stream)
    yield stream
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    for handler in handlers:
        if handler not in root.handlers and not type(handler).__module__.startswith("_pytest"):
            root.addHandler(handler)
    root.setLevel(level)
    logging.setLogRecordFactory(factory)


def test_a_record_is_one_line_whatever_its_text_holds(captured_logs: io.StringIO) -> None:
    name = "clip\u2028name\u2029with\x85breaks\nand a newline.mp4"
    logging.getLogger("vidsafe.test").info("received %s", name)
    (line,) = captured_logs.getvalue().splitlines()
    assert json.loads(line)["message"] == f"received {name}"


def test_job_context_reaches_threads_that_copy_it(captured_logs: io.StringIO) -> None:
    logger = logging.getLogger("vidsafe.test")
    logger.info("before")
    with job_context("0f0e0d0c-0000-4000-8000-000000000001"):
        logger.info("inside", extra={"frames": 3})
        thread = threading.Thread(target=copy_context().run, args=(logger.info, "in a thread"))
        thread.start()
        thread.join()
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("after")
    lines = [json.loads(line) for line in captured_logs.getvalue().splitlines()]
    assert [line["message"] for line in lines] == ["before", "inside", "in a thread", "after"]
    assert [line.get("job_id") for line in lines] == [None, "0f0e0d0c-0000-4000-8000-000000000001",
                                                      "0f0e0d0c-0000-4000-8000-000000000001", None]
    assert lines[1]["frames"] == 3 and lines[1]["service"] == "test" and lines[1]["level"] == "INFO"
    assert "ValueError: boom" in lines[3]["exc_info"]


def test_text_format(captured_logs: io.StringIO) -> None:
    stream = io.StringIO()
    setup_logging(Settings(log_format="text"), "test", stream=stream)
    with job_context("job-1"):
        logging.getLogger("vidsafe.test").warning("plain")
    assert stream.getvalue().rstrip().endswith("WARNING vidsafe.test [job job-1]: plain")
