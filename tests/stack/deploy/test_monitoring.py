"""Operations monitoring: the alerting rules under `promtool test rules`, the Grafana dashboard as generated from
the one panel list and valid PromQL over metrics that exist, and through the stack: Prometheus (Debian's) scraping
the gateway, the worker and Triton, and the monitoring page's figures asked of it, with another team's usage left
out."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.helpers.monitoring import dashboard_expressions
from tests.helpers.support import make_team, run_job, wait_until
from vidsafe.dashboard import PANELS
from vidsafe.settings import Settings

# Counters whose series appear with their first event (labelled, in the workers' multiprocess mode).
ON_FIRST_EVENT = {"vidsafe_triton_request_errors_total"}
# Triton's own metrics the dashboard reads (Triton 2.51's names; its endpoint is scraped as job "triton").
TRITON_METRICS = {"nv_inference_queue_duration_us", "nv_inference_compute_infer_duration_us",
                  "nv_inference_request_success"}


# ---- through the stack ---------------------------------------------------------------------------------------


def _prometheus(settings: Settings, path: str, **params: str) -> dict:
    answer = httpx.get(f"{settings.effective_prometheus_url}{path}", params=params, timeout=10).json()
    assert answer["status"] == "success", answer
    return answer["data"]


def test_prometheus_scrapes_every_service_and_the_dashboard_reads_metrics_that_exist(
        running_stack: Settings, api: httpx.Client, sample_video: Path) -> None:
    run_job(api, sample_video)  # frames, stages and Triton requests to count

    def every_target_up() -> bool:
        targets = _prometheus(running_stack, "/api/v1/targets")["activeTargets"]
        return {t["labels"]["job"]: t["health"] for t in targets} == {"gateway": "up", "worker": "up", "triton": "up"}

    wait_until(every_target_up, "Prometheus scraping the gateway, the worker and Triton", timeout_s=60)
    wanted = {name for expr in dashboard_expressions()
              for name in re.findall(r"\b((?:vidsafe|nv)_\w+)", expr)} - ON_FIRST_EVENT
    assert wanted >= TRITON_METRICS

    def missing() -> set[str]:
        return wanted - set(_prometheus(running_stack, "/api/v1/label/__name__/values"))

    wait_until(lambda: not missing(), lambda: f"never scraped: {missing()}", timeout_s=30)
    rules = _prometheus(running_stack, "/api/v1/rules")["groups"]
    assert {rule["name"] for group in rules for rule in group["rules"]} >= {"VidsafeQueueStuck", "VidsafeTritonDown"}


def test_the_monitoring_figures_come_from_prometheus_with_only_the_callers_team(
        running_stack: Settings, api: httpx.Client, sample_video: Path) -> None:
    others = make_team(running_stack, api, "monitored", {"lead": ["submit", "review"]})
    with others.client("lead") as lead:
        run_job(lead, sample_video)

        def frames_plotted() -> bool:
            panels = {p["title"]: p for p in lead.get("/v1/stats/operations").json()["panels"]}
            return any(point[1] > 0 for series in panels["Frames analysed per second"]["series"]
                       for point in series["points"])

        wait_until(frames_plotted, "frames per second from Prometheus", timeout_s=60, interval_s=2)
        operations = lead.get("/v1/stats/operations", params={"minutes": 30}).json()
    assert operations["prometheus"] == running_stack.effective_prometheus_url
    panels = {p["title"]: p for p in operations["panels"]}
    assert list(panels) == [p.title for p in PANELS] and not any(p["error"] for p in panels.values()), panels
    assert {s["legend"] for s in panels["Video submitted per team (hours)"]["series"]} == {"monitored"}, \
        "no other team's usage"
    assert any(s["points"] for s in panels["Stage latency (p95)"]["series"])
    assert api.get("/v1/stats/operations", params={"minutes": 1}).json()["detail"]["code"] == "invalid_request"
