"""What the monitoring page shows: the team's figures and the deployment's operations dashboard."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from vidsafe.domain.jobs import JobStatus


class Stats(BaseModel):
    """What the monitoring page shows: the team's jobs, the queue, throughput, the services' health."""

    jobs_by_status: dict[JobStatus, int]
    review_open: int
    escalations_open: int
    queue_depth: int | None = Field(description="Tasks waiting in the broker (all teams); None: Redis unreachable")
    jobs_finished_last_hour: int
    video_seconds_last_hour: float
    frames_last_hour: int
    services: dict[str, bool]
    oldest_open_at: datetime | None = Field(default=None, description="When the longest-waiting open review item "
                                            "came into its queue")
    decisions_last_day: dict[str, int] = Field(default_factory=dict, description="Each reviewer's decisions in the "
                                               "last 24 h")
    exposure_today_s: dict[str, float] = Field(default_factory=dict, description="Each reviewer's unblurred seconds "
                                               "of sensitive stretches today (UTC)")


class OperationsSeries(BaseModel):
    legend: str
    points: list[tuple[float, float]] = Field(description="(unix time, value), oldest first")


class OperationsPanel(BaseModel):
    title: str
    unit: str = Field(description="Grafana's unit id: s, ops (per second), h, short")
    description: str
    series: list[OperationsSeries]
    error: str | None = Field(default=None, description="Why Prometheus gave no answer to a query")


class Operations(BaseModel):
    """The Grafana dashboard's figures over a recent window, asked of Prometheus (the caller's own team only in
    per-team panels)."""

    prometheus: str | None = Field(description="The Prometheus asked; None: none is configured")
    message: str | None = Field(default=None, description="Why there are no figures")
    panels: list[OperationsPanel]
