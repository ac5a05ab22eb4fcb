"""The stats resource: what the monitoring page shows, for the caller's team (jobs per state, the review
queues, throughput over the last hour) and for the deployment (the broker's depth, each service's health); and
the operations figures, the Grafana dashboard's queries asked of Prometheus (``vidsafe/dashboard.py``)."""

from __future__ import annotations

import re
import time
from typing import Annotated

import httpx
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from redis.exceptions import RedisError

from vidsafe.dashboard import PANELS, for_team
from vidsafe.db import operations, review
from vidsafe.domain.jobs import JobStatus
from vidsafe.domain.operations import Operations, OperationsPanel, OperationsSeries, Stats
from vidsafe.gateway.dependencies import ConnDep, QueueDep, ReaderDep, SettingsDep
from vidsafe.queue import VIDEO_QUEUE, queue_depth
from vidsafe.readiness import redis_answers, triton_serves_models
from vidsafe.settings import Settings

router = APIRouter(prefix="/v1/stats", tags=["stats"])


def _workers_answer(queue: QueueDep) -> bool:
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


@router.get("", response_model=Stats)
async def stats(request: Request, conn: ConnDep, settings: SettingsDep, queue: QueueDep, caller: ReaderDep) -> Stats:
    counts, finished, seconds, frames = await run_in_threadpool(operations.throughput, conn, caller.team_id)
    open_items = await run_in_threadpool(review.queue_counts, conn, caller.team_id)
    services = {
        "redis": await run_in_threadpool(redis_answers, settings.effective_redis_url),
        "triton": await run_in_threadpool(_triton_ready, settings),
        "workers": await run_in_threadpool(_workers_answer, queue),
    }
    return Stats(jobs_by_status={status: counts.get(status, 0) for status in JobStatus},
                 review_open=open_items["review"], escalations_open=open_items["escalation"],
                 queue_depth=await run_in_threadpool(_queue_depth, settings),
                 jobs_finished_last_hour=finished, video_seconds_last_hour=seconds, frames_last_hour=frames,
                 services={"database": True, **services})


OPERATIONS_POINTS = 120  # per series: the step is the window over this


def _legend(template: str, labels: dict[str, str]) -> str:
    return re.sub(r"{{\s*(\w+)\s*}}", lambda m: labels.get(m[1], ""), template).strip() or "value"


def _operations(settings: Settings, team: str, minutes: int) -> Operations:
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
                    answer = prometheus.get("/api/v1/query_range", params={"query": for_team(query.expr, team),
                                                                           **window})
                    body = answer.json()
                    if body.get("status") != "success":
                        raise ValueError(body.get("error", answer.text[:200]))
                except (httpx.HTTPError, ValueError) as failed:
                    error = f"{type(failed).__name__}: {failed}"
                    continue
                for result in body["data"]["result"]:
                    series.append(OperationsSeries(legend=_legend(query.legend, result["metric"]), points=[
                        (float(t), float(v)) for t, v in result["values"] if v not in ("NaN", "+Inf", "-Inf")]))
            panels.append(OperationsPanel(title=panel.title, unit=panel.unit, description=panel.description,
                                          series=series, error=error))
    return Operations(prometheus=url, panels=panels)


@router.get("/operations", response_model=Operations)
async def operations_figures(settings: SettingsDep, caller: ReaderDep,
                     minutes: Annotated[int, Query(ge=5, le=7 * 24 * 60, description="The window, in minutes")] = 60,
                     ) -> Operations:
    """The deployment's operations figures over the last ``minutes`` (queue depth, jobs by state, frames/s, stage
    latencies, Triton queue and compute time, errors) and the caller's team's usage, from Prometheus."""
    return await run_in_threadpool(_operations, settings, caller.team, minutes)
