"""The stats resource: what the monitoring page shows, for the caller's team (jobs per state, the review
queues, throughput over the last hour) and for the deployment (the broker's depth, each service's health)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from redis.exceptions import RedisError

from vidsafe.db import review
from vidsafe.domain import JobStatus, Stats
from vidsafe.gateway.dependencies import ConnDep, QueueDep, ReaderDep, SettingsDep
from vidsafe.queue import VIDEO_QUEUE
from vidsafe.readiness import queue_depth, redis_answers, triton_serves_models
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
    counts, finished, seconds, frames = await run_in_threadpool(review.throughput, conn, caller.team_id)
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
