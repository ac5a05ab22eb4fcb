"""Metrics and logs shared by the gateway and the workers.

**Metrics** (Prometheus, ``prometheus_client``). Counted where the work happens:

- worker: ``vidsafe_stage_duration_seconds{module,stage}`` (histogram of each pipeline stage of a job),
  ``vidsafe_frames_analysed_total`` (sampled frames that went through every frame stage; its rate is the
  frames analysed per second), and, wherever ``vidsafe.triton`` is used,
  ``vidsafe_triton_request_duration_seconds{model}`` and ``vidsafe_triton_request_errors_total{model}``;
- gateway (``gateway/metrics.py``): ``vidsafe_http_requests_total{method,route,status}`` and
  ``vidsafe_http_request_duration_seconds{method,route}``, and two gauges read at scrape time, not
  counted: ``vidsafe_jobs{status}`` (Postgres, the source of truth for a job's state) and
  ``vidsafe_queue_depth{queue}`` (the Redis list Celery keeps the queue in). They are served by the
  gateway only, so a deployment with several workers does not report them once per worker.

**Prefork.** The Celery worker runs its tasks in forked pool processes, each with its own memory, so
counts kept in a process would be lost with it and could not be served by the main process. The worker
therefore runs prometheus_client in multiprocess mode: ``workers/celery_app.py`` sets
``PROMETHEUS_MULTIPROC_DIR`` (``state_dir/metrics/worker`` unless already set) before prometheus_client
is first imported, each pool process writes its values to its own memory-mapped files there, and the
worker's main process empties the folder when it starts and serves the sum of all files on
``worker_metrics_port`` (``serve_worker_metrics``). A pool process that is replaced leaves its files, so
counters and histograms never go backwards. The gateway is one process and keeps its metrics in memory,
unless it is itself started with ``PROMETHEUS_MULTIPROC_DIR`` (several uvicorn workers): ``render_metrics``
handles both.

**Logs.** ``setup_logging`` is the one logging setup of the services: one line per record on stderr
(which the launcher sends to ``state_dir/logs/<service>.log``), JSON by default (``log_format``), with
the id of the job being worked on in every record made while ``job_context`` is active (a contextvar, so
the threads a job starts need ``contextvars.copy_context().run`` to carry it).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar
from uuid import UUID

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from vidsafe.db import operations
from vidsafe.domain.jobs import JobStatus
from vidsafe.queue import VIDEO_QUEUE, queue_depth
from vidsafe.settings import Settings

__all__ = ["CONTENT_TYPE_LATEST"]

log = logging.getLogger(__name__)
B = TypeVar("B")
R = TypeVar("R")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# ---- metrics -------------------------------------------------------------------------------------

STAGE_SECONDS = Histogram(
    "vidsafe_stage_duration_seconds",
    "Time one job spent in a pipeline stage (module 'all': stages of the whole job).",
    ["module", "stage"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, float("inf")),
)
FRAMES_ANALYSED = Counter(
    "vidsafe_frames_analysed",
    "Sampled frames analysed by every enabled frame stage (rate() gives frames per second).",
)
DECODER_FALLBACKS = Counter(
    "vidsafe_decoder_fallbacks",
    "Chunks decoded on the CPU although VIDSAFE_VIDEO_DECODER asks for NVDEC (no usable GPU decoder on the worker).",
)
TRITON_REQUEST_SECONDS = Histogram(
    "vidsafe_triton_request_duration_seconds",
    "Latency of one Triton inference request, seen by the client (queueing in Triton included).",
    ["model"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, float("inf")),
)
JOBS_ENDED = Counter(
    "vidsafe_jobs_ended",
    "Jobs the workers ended, by status (succeeded, failed) and error code (none for a success).",
    ["status", "error_code"],
)
TRITON_REQUEST_ERRORS = Counter(
    "vidsafe_triton_request_errors",
    "Triton inference requests that failed (refused, failed in the model, timed out, unreachable).",
    ["model"],
)


def count_frames(n: int) -> None:
    FRAMES_ANALYSED.inc(n)


def count_job_end(status: str, error_code: str | None) -> None:
    JOBS_ENDED.labels(status=status, error_code=error_code or "none").inc()


def count_decoder_fallback() -> None:
    DECODER_FALLBACKS.inc()


@contextlib.contextmanager
def time_stage(module: str, stage: str) -> Iterator[None]:
    """Context manager (and decorator, of any callable) observing a stage's duration in
    ``vidsafe_stage_duration_seconds``, whether the stage ends well or raises."""
    started = time.perf_counter()
    try:
        yield
    finally:
        STAGE_SECONDS.labels(module=module, stage=stage).observe(time.perf_counter() - started)


def observe_stage(module: str, stage: str, seconds: float) -> None:
    """A stage's time measured in pieces (decoding, between the frames it yields), observed once."""
    STAGE_SECONDS.labels(module=module, stage=stage).observe(seconds)


def timed_batch(module: str, submit: Callable[[B], Callable[[], R]], batch: B) -> Callable[[], R]:
    """``submit(batch)``, its collect callable observing ``{module, stage="frame_batch"}``: from the submission
    to the findings collected (the pipeline collects batches in order, so a batch's wait behind the one
    before it is included)."""
    started = time.perf_counter()
    collect = submit(batch)

    def timed_collect() -> R:
        try:
            return collect()
        finally:
            STAGE_SECONDS.labels(module=module, stage="frame_batch").observe(time.perf_counter() - started)

    return timed_collect


def observe_triton_request(model: str, seconds: float, failed: bool) -> None:
    """Never raises: it runs in tritonclient's callback thread, where an exception would be swallowed and
    the request's future never resolved."""
    try:
        TRITON_REQUEST_SECONDS.labels(model=model).observe(seconds)
        if failed:
            TRITON_REQUEST_ERRORS.labels(model=model).inc()
    except Exception:
        log.exception("cannot count a Triton request")


class StackStateCollector(Collector):
    """Jobs by status and team, webhook deliveries (Postgres) and queue depth (Redis), read when Prometheus
    scrapes."""

    def __init__(self, connect: Any, redis_url: str, team_names: bool = False) -> None:
        self._connect = connect  # () -> context manager giving a psycopg connection
        self._redis_url = redis_url
        self._team_names = team_names  # /metrics needs no key: teams are named only if the operator says so

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("vidsafe_scrape_source_up",
                               "Whether the last scrape could read the source (1) or not (0).", labels=["source"])
        jobs = GaugeMetricFamily("vidsafe_jobs", "Jobs by status, read from Postgres at scrape time.",
                                 labels=["status"])
        team_jobs = GaugeMetricFamily("vidsafe_team_jobs", "Jobs of each team (its id, or its name with "
                                      "VIDSAFE_METRICS_TEAM_NAMES) by status (Postgres, at scrape time).",
                                      labels=["team", "status"])
        team_seconds = GaugeMetricFamily("vidsafe_team_video_seconds",
                                         "Seconds of video each team has submitted, by job status (Postgres).",
                                         labels=["team", "status"])
        webhooks = GaugeMetricFamily("vidsafe_webhook_deliveries", "Webhook deliveries by state: pending (first "
                                     "attempt due), retrying (failed at least once), delivered, failed (given up).",
                                     labels=["state"])
        try:
            with self._connect() as conn:
                rows = operations.jobs_by_team(conn, self._team_names)
                deliveries = operations.deliveries_by_state(conn)
            totals: dict[str, float] = {}
            for team, status, count, seconds in rows:
                team_jobs.add_metric([team, status], count)
                team_seconds.add_metric([team, status], seconds)
                totals[status] = totals.get(status, 0) + count
            for status in JobStatus:
                jobs.add_metric([status.value], totals.get(status.value, 0))
            for state in ("pending", "retrying", "delivered", "failed"):
                webhooks.add_metric([state], deliveries.get(state, 0))
            up.add_metric(["postgres"], 1)
            yield from (jobs, team_jobs, team_seconds, webhooks)
        except Exception as error:
            log.warning("metrics: cannot count jobs in Postgres: %s", error)
            up.add_metric(["postgres"], 0)

        depth = GaugeMetricFamily("vidsafe_queue_depth", "Tasks waiting in the Celery queue (Redis list length).",
                                  labels=["queue"])
        try:
            depth.add_metric([VIDEO_QUEUE], queue_depth(self._redis_url, VIDEO_QUEUE))
            up.add_metric(["redis"], 1)
            yield depth
        except Exception as error:
            log.warning("metrics: cannot read the queue depth in Redis: %s", error)
            up.add_metric(["redis"], 0)
        yield up


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def render_metrics(extra: Iterable[Collector] = ()) -> bytes:
    """This process's metrics (the sum over processes in multiprocess mode) and ``extra``, in the text format."""
    if multiprocess_mode():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    output = generate_latest(registry)
    extra = list(extra)
    if extra:
        scrape = CollectorRegistry(auto_describe=False)
        for collector in extra:
            scrape.register(collector)
        output += generate_latest(scrape)
    return output


def empty_multiprocess_folder(folder: Path) -> None:
    """Create ``folder`` or remove the values left in it: those of an earlier run would be added to this one's."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink(missing_ok=True)


def serve_worker_metrics(settings: Settings) -> None:
    """In the worker's main process, before the pool forks: empty the multiprocess folder and serve the sum of
    the pool's metrics."""
    if multiprocess_mode():
        empty_multiprocess_folder(Path(os.environ[MULTIPROC_ENV]))
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        log.warning("%s is not set: the worker serves its main process's metrics only, not its pool's", MULTIPROC_ENV)
        registry = REGISTRY
    port = settings.worker_metrics_port
    try:
        start_http_server(port, addr=settings.worker_metrics_host, registry=registry)
    except OSError as error:  # metrics are not worth the worker: it goes on analysing without them
        log.error("cannot serve worker metrics on %s:%d: %s", settings.worker_metrics_host, port, error)
        return
    log.info("worker metrics on http://%s:%d/metrics", settings.worker_metrics_host, port)


# ---- logs ----------------------------------------------------------------------------------------

_job_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("vidsafe_job_id", default=None)


@contextlib.contextmanager
def job_context(job_id: UUID | str | None) -> Iterator[None]:
    """Every log record made inside (in this context) carries ``job_id``."""
    token = _job_id.set(None if job_id is None else str(job_id))
    try:
        yield
    finally:
        _job_id.reset(token)


_base_factory = logging.getLogRecordFactory()


def _record_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    record.job_id = _job_id.get()
    return record


# The attributes every LogRecord has; anything else on a record came from ``extra=`` and is logged too
# (but uvicorn's copy of each message with terminal colours).
_RECORD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "job_id", "taskName", "color_message"}
# One record, one line, for every reader: JSON leaves U+0085, U+2028 and U+2029 unescaped, and str.splitlines()
# (and JavaScript) break lines at them; a client's file name or URL may hold any of them.
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, service, pid, job_id (when set), exc_info,
    and the record's ``extra`` fields."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "service": self.service,
            "pid": record.process,
        }
        job_id = getattr(record, "job_id", None)
        if job_id is not None:
            entry["job_id"] = job_id
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False).translate(_LINE_BREAKS)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s%(job)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        job_id = getattr(record, "job_id", None)
        record.job = f" [job {job_id}]" if job_id else ""
        return super().format(record)


def setup_logging(settings: Settings, service: str, *, default_format: str = "json",
                  level: int | str = logging.INFO, stream: IO[str] | None = None) -> None:
    """Send every logger's records to ``stream`` (stderr) in ``settings.log_format`` (unset:
    ``default_format``, json for the services and text for the CLI). Replaces the root logger's
    handlers, so it can be called again (Celery does, in each pool process)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    fmt = settings.log_format or default_format
    handler.setFormatter(JsonFormatter(service) if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    if logging.getLogRecordFactory() is not _record_factory:
        logging.setLogRecordFactory(_record_factory)
    # uvicorn and Celery give some loggers handlers of their own: send those through ours instead. The
    # gateway logs each request itself (gateway/metrics.py, with route, status and job id): uvicorn's
    # access log is off.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "celery", "celery.task", "celery.redirected"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = name != "uvicorn.access"
