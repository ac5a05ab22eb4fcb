"""The monitoring figures: the team's (jobs per state, the review queues, throughput over the last hour), the
deployment's (the broker's depth, each service's health), and the operations figures, the Grafana dashboard's
queries asked of Prometheus (``vidsafe/dashboard.py``)."""

from __future__ import annotations

import re
import time
import uuid

import httpx
import psycopg
from celery import Celery
from redis.exceptions import RedisError

from vidsafe.dashboard import PANELS, for_team
from vidsafe.db import exposure, operations, review
from vidsafe.domain.jobs import JobStatus
from vidsafe.domain.operations import Operations, OperationsPanel, OperationsSeries, Stats
from vidsafe.queue import VIDEO_QUEUE, queue_depth
from vidsafe.readiness import redis_answers, triton_serves_models
from vidsafe.settings import Settings


def _workers_answer(queue: Celery) -> bool:
    """Whether a worker answers a ping (the first reply ends the wait: ``limit=1``)."""
    try:
        return bool(queue.control.ping(timeout=1.0, limit=1))
    except Exception:  # the broker is down: no worker can be asked
        return False


def _queue_depth(settings: Settings) -> int | None:
    try:
        return queue_depth(settings.effective_redis_url, VIDEO_QUEUE)
    except RedisError:
        return None


def _triton_ready(settings: Settings) -> bool:
    try:
        return triton_serves_models(settings)
    except Exception:
        return False


def team_stats(conn: psycopg.Connection, settings: Settings, queue: Celery, team_id: uuid.UUID) -> Stats:
    counts, finished, seconds, frames = operations.throughput(conn, team_id)
    open_items = review.queue_counts(conn, team_id)
    services = {"redis": redis_answers(settings.effective_redis_url), "triton": _triton_ready(settings),
                "workers": _workers_answer(queue)}
    return Stats(jobs_by_status={status: counts.get(status, 0) for status in JobStatus},
                 review_open=open_items["review"], escalations_open=open_items["escalation"],
                 queue_depth=_queue_depth(settings), jobs_finished_last_hour=finished, video_seconds_last_hour=seconds,
                 frames_last_hour=frames, services={"database": True, **services},
                 oldest_open_at=review.oldest_open(conn, team_id),
                 decisions_last_day=review.decisions_by_reviewer(conn, team_id, 24),
                 exposure_today_s=exposure.team_today(conn, team_id))


OPERATIONS_POINTS = 120  # per series: the step is the window over this


def _legend(template: str, labels: dict[str, str]) -> str:
    return re.sub(r"{{\s*(\w+)\s*}}", lambda m: labels.get(m[1], ""), template).strip() or "value"


def operations_figures(settings: Settings, team_id: uuid.UUID, team: str, minutes: int) -> Operations:
    """The dashboard's figures over the last ``minutes``, per-team panels limited to the caller's team (labelled by
    its id in the metrics, or its name with ``metrics_team_names``; shown by its name either way)."""
    label = team if settings.metrics_team_names else str(team_id)
    url = settings.effective_prometheus_url
    if url is None:
        return Operations(prometheus=None, panels=[], message="no Prometheus is configured: set "
                          "VIDSAFE_PROMETHEUS=true (the local stack's) or VIDSAFE_PROMETHEUS_URL")
    end = time.time()
    window = {"start": end - minutes * 60, "end": end, "step": max(5.0, minutes * 60 / OPERATIONS_POINTS)}
    panels = []
    with httpx.Client(base_url=url, timeout=10) as prometheus:
        for panel in PANELS:
            series, error = [], None
            for query in panel.queries:
                try:
                    answer = prometheus.get("/api/v1/query_range", params={"query": for_team(query.expr, label),
                                                                           **window})
                    body = answer.json()
                    if body.get("status") != "success":
                        raise ValueError(body.get("error", answer.text[:200]))
                except (httpx.HTTPError, ValueError) as failed:
                    error = f"{type(failed).__name__}: {failed}"
                    continue
                for result in body["data"]["result"]:
                    metric = {**result["metric"], **({"team": team} if "team" in result["metric"] else {})}
                    series.append(OperationsSeries(legend=_legend(query.legend, metric), points=[
                        (float(t), float(v)) for t, v in result["values"] if v not in ("NaN", "+Inf", "-Inf")]))
            panels.append(OperationsPanel(title=panel.title, unit=panel.unit, description=panel.description,
                                          series=series, error=error))
    return Operations(prometheus=url, panels=panels)
