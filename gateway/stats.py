"""The stats resource: what the monitoring page shows, for the caller's team and for the deployment, and the
operations figures of the Grafana dashboard (``gateway/services/operations.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from vidsafe.domain.operations import Operations, Stats
from vidsafe.gateway.dependencies import ConnDep, QueueDep, ReaderDep, SettingsDep
from vidsafe.gateway.services import operations as operations_service

router = APIRouter(prefix="/v1/stats", tags=["stats"])


@router.get("", response_model=Stats)
async def stats(conn: ConnDep, settings: SettingsDep, queue: QueueDep, caller: ReaderDep) -> Stats:
    """The team's jobs per state, its review queues and its throughput over the last hour; the broker's depth and
    whether each service answers."""
    return await run_in_threadpool(operations_service.team_stats, conn, settings, queue, caller.team_id)


@router.get("/operations", response_model=Operations, operation_id="operations_v1_stats_operations_get")
async def operations_figures(settings: SettingsDep, caller: ReaderDep,
                             minutes: Annotated[int, Query(ge=5, le=7 * 24 * 60,
                                                           description="The window, in minutes")] = 60,
                             ) -> Operations:
    """The deployment's operations figures over the last ``minutes`` (queue depth, jobs by state, frames/s, stage
    latencies, Triton queue and compute time, errors) and the caller's team's usage, from Prometheus."""
    return await run_in_threadpool(operations_service.operations_figures, settings, caller.team_id,
                                   caller.team, minutes)
