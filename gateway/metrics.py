"""The gateway's Prometheus metrics: ``GET /metrics``, and the HTTP middleware that counts requests.

``/metrics`` needs no API key, like ``/healthz``: Prometheus scrapes it without credentials, as is usual.
It tells the number of jobs by status and request rates, nothing about any job's content, but it should
still not be exposed publicly: serve it on an internal network or block the path at the reverse proxy.
Besides the HTTP metrics it serves two gauges read at scrape time (jobs by status from Postgres, the
queue's depth from Redis) and the Triton client's metrics of this process (``vidsafe.observability``).
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vidsafe.observability import CONTENT_TYPE_LATEST, StackStateCollector, job_context, render_metrics

log = logging.getLogger("gateway.access")

HTTP_REQUESTS = Counter(
    "vidsafe_http_requests", "HTTP requests answered by the gateway.", ["method", "route", "status"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "vidsafe_http_request_duration_seconds",
    "Time the gateway took to answer a request (an upload's streaming included).",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, float("inf")),
)
# Paths whose requests are logged at DEBUG only: probes and scrapes come every few seconds.
QUIET_ROUTES = {"/metrics", "/healthz", "/readyz"}
JOB_PATH = re.compile(r"^/v1/jobs/([0-9a-fA-F-]{36})(?:/|$)")

router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    pool = request.app.state.pool
    settings = request.app.state.settings
    collector = StackStateCollector(lambda: pool.connection(timeout=2), settings.effective_redis_url,
                                    team_names=settings.metrics_team_names)
    return Response(render_metrics([collector]), media_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    """Counts and times every HTTP request by route template (``/v1/jobs/{job_id}``, not the id, so the
    series stay few), logs one line per request, and puts the job id of ``/v1/jobs/{id}...`` requests in
    the log context of everything the request logs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        match = JOB_PATH.match(scope["path"])
        with job_context(match[1].lower() if match else None):
            try:
                await self.app(scope, receive, send_status)
            finally:
                elapsed = time.perf_counter() - started
                route = getattr(scope.get("route"), "path", None) or "unmatched"
                method = scope["method"]
                HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
                HTTP_REQUEST_SECONDS.labels(method=method, route=route).observe(elapsed)
                # A media link is a credential while it lasts: its token stays out of the log.
                path = route if route.startswith("/media/") else scope["path"]
                fields: dict[str, Any] = {"method": method, "path": path, "route": route,
                                          "status": status, "duration_ms": round(elapsed * 1000, 1)}
                log.log(logging.DEBUG if route in QUIET_ROUTES else logging.INFO,
                        "%s %s %d", method, path, status, extra=fields)
