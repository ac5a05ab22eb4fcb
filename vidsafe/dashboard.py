"""The operations dashboard, defined once: each panel's PromQL. ``vidsafe dashboard`` writes it as the Grafana
dashboard JSON (deploy/grafana/vidsafe.json, a test keeps the file equal to this), and the gateway asks Prometheus
the same queries for the review UI's monitoring page (``GET /v1/stats/operations``).

A query may name ``$team``: Grafana's team variable, and, on the UI's page, the caller's own team only (no team
sees another's usage there).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

RATE_WINDOW = "5m"


@dataclass(frozen=True)
class Query:
    legend: str  # Grafana's legend format: {{label}} is the series' label
    expr: str


@dataclass(frozen=True)
class Panel:
    title: str
    unit: str  # Grafana's unit id
    description: str
    queries: tuple[Query, ...]


PANELS: tuple[Panel, ...] = (
    Panel("Queue depth", "short", "Tasks waiting in the Celery queue (jobs to plan, parts to run, background work).",
          (Query("waiting", "sum(vidsafe_queue_depth)"),)),
    Panel("Jobs by state", "short", "Jobs in each state, read from Postgres.",
          (Query("{{status}}", "sum by (status) (vidsafe_jobs)"),)),
    Panel("Frames analysed per second", "ops", "Sampled frames through every enabled frame stage, all workers.",
          (Query("frames/s", f"sum(rate(vidsafe_frames_analysed_total[{RATE_WINDOW}]))"),)),
    Panel("Stage latency (p95)", "s", "95th percentile of the time a job spends in each stage, per chunk.",
          (Query("{{module}} {{stage}}", "histogram_quantile(0.95, sum by (le, module, stage) "
                 f"(rate(vidsafe_stage_duration_seconds_bucket[{RATE_WINDOW}])))"),)),
    Panel("Triton request latency (p95, client)", "s", "What a worker waits for one inference request.",
          (Query("{{model}}", "histogram_quantile(0.95, sum by (le, model) "
                 f"(rate(vidsafe_triton_request_duration_seconds_bucket[{RATE_WINDOW}])))"),)),
    Panel("Triton queue and compute time per request", "s", "Triton's own figures: time waiting for a batch, and "
          "computing it.",
          (Query("queue {{model}}", f"sum by (model) (rate(nv_inference_queue_duration_us[{RATE_WINDOW}])) / 1e6 / "
                 f"clamp_min(sum by (model) (rate(nv_inference_request_success[{RATE_WINDOW}])), 1e-9)"),
           Query("compute {{model}}", "sum by (model) "
                 f"(rate(nv_inference_compute_infer_duration_us[{RATE_WINDOW}])) / 1e6 / "
                 f"clamp_min(sum by (model) (rate(nv_inference_request_success[{RATE_WINDOW}])), 1e-9)"))),
    Panel("Errors", "ops", "Failed jobs by code, failed Triton requests, the gateway's 5xx answers; webhook "
          "deliveries being retried.",
          (Query("failed jobs: {{error_code}}",
                 f'sum by (error_code) (rate(vidsafe_jobs_ended_total{{status="failed"}}[{RATE_WINDOW}]))'),
           Query("Triton errors: {{model}}",
                 f"sum by (model) (rate(vidsafe_triton_request_errors_total[{RATE_WINDOW}]))"),
           Query("gateway 5xx", f'sum(rate(vidsafe_http_requests_total{{status=~"5.."}}[{RATE_WINDOW}]))'),
           Query("webhooks retrying", 'sum(vidsafe_webhook_deliveries{state="retrying"})'))),
    Panel("Video submitted per team (hours)", "h", "Hours of video each team has submitted, all jobs.",
          (Query("{{team}}", 'sum by (team) (vidsafe_team_video_seconds{team=~"$team"}) / 3600'),)),
    Panel("Jobs per team", "short", "Each team's jobs waiting and running.",
          (Query("{{team}} {{status}}",
                 'sum by (team, status) (vidsafe_team_jobs{team=~"$team", status=~"queued|running"})'),)),
)


def for_team(expr: str, team: str) -> str:
    """The query with ``$team`` bound to one team (a regex of just its label: its id, or its name)."""
    return expr.replace("$team", re.escape(team).replace("\\", "\\\\"))


def grafana_dashboard() -> dict:
    """The Grafana dashboard (schema 39), its data source an input chosen at import."""
    datasource = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
    panels = []
    for number, panel in enumerate(PANELS):
        panels.append({
            "id": number + 1, "type": "timeseries", "title": panel.title, "description": panel.description,
            "datasource": datasource, "gridPos": {"h": 8, "w": 12, "x": 12 * (number % 2), "y": 8 * (number // 2)},
            "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
            "options": {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}},
            "targets": [{"refId": chr(ord("A") + n), "datasource": datasource, "expr": query.expr,
                         "legendFormat": query.legend} for n, query in enumerate(panel.queries)],
        })
    return {
        "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource", "pluginId": "prometheus",
                      "pluginName": "Prometheus"}],
        "title": "vidsafe", "uid": "vidsafe-operations", "tags": ["vidsafe"], "timezone": "browser",
        "schemaVersion": 39, "version": 1, "refresh": "30s", "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [{
            "name": "team", "label": "Team", "type": "query", "datasource": datasource,
            "query": {"query": "label_values(vidsafe_team_jobs, team)", "refId": "team"},
            "definition": "label_values(vidsafe_team_jobs, team)", "includeAll": True, "multi": True,
            "allValue": ".*", "current": {"text": "All", "value": "$__all"}, "refresh": 2}]},
        "panels": panels,
    }


def grafana_json() -> str:
    return json.dumps(grafana_dashboard(), indent=2) + "\n"
