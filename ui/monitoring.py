"""The monitoring page: the team's jobs per state, the review queues, the broker's depth, throughput and the
services' health, refreshed every few seconds; the reviewers' figures (decisions in the last day, exposure to
sensitive stretches today, the oldest waiting video) with the decisions' CSV; and the operations figures of the
Grafana dashboard (frames/s, stage latencies, Triton queue and compute time, errors, the team's usage), from
Prometheus, as line charts."""

from __future__ import annotations

from datetime import UTC, datetime

import altair as alt
import pandas as pd
import streamlit as st

from vidsafe.domain.operations import OperationsPanel, Stats
from vidsafe.ui import session
from vidsafe.ui.queue import waited

REFRESH_S = 5
OPERATIONS_REFRESH_S = 30
WINDOWS = {"last hour": 60, "last 6 hours": 360, "last day": 1440}
# The dashboard's units are Grafana's ids; a reader sees words ("short" is a plain count: no axis title).
UNIT_TITLES = {"s": "seconds", "ops": "per second", "h": "hours", "short": None}


@st.fragment(run_every=REFRESH_S)
def _figures() -> None:
    stats = session.call(lambda c: c.stats())
    if stats is None:
        return
    columns = st.columns(5)
    columns[0].metric("Queue depth", "?" if stats.queue_depth is None else stats.queue_depth,
                      help="Tasks waiting in the broker, all teams")
    columns[1].metric("Running", stats.jobs_by_status.get("running", 0))
    columns[2].metric("Done, last hour", stats.jobs_finished_last_hour)
    columns[3].metric("Video analysed, last hour", f"{stats.video_seconds_last_hour / 60:.1f} min")
    columns[4].metric("Open reviews", stats.review_open, help=f"{stats.escalations_open} escalations")
    st.bar_chart(pd.DataFrame({"jobs": {str(k): v for k, v in stats.jobs_by_status.items()}}), height=220)
    health = st.columns(len(stats.services))
    for column, (service, up) in zip(health, stats.services.items(), strict=True):
        column.markdown(f"{':green[:material/check_circle:]' if up else ':red[:material/error:]'} **{service}**")
    _reviewers(stats)
    st.caption(f"refreshed every {REFRESH_S} s")


def _reviewers(stats: Stats) -> None:
    st.subheader("Reviewers")
    columns = st.columns([1, 2, 2])
    columns[0].metric("Oldest waiting", waited(stats.oldest_open_at, datetime.now(UTC)) if stats.oldest_open_at
                      else "-", help="How long the longest-waiting open video has been in its queue")
    for column, figures, title in ((columns[1], stats.decisions_last_day, "decisions, last 24 h"),
                                   (columns[2], {k: round(v / 60, 1) for k, v in stats.exposure_today_s.items()},
                                    "sensitive minutes seen unblurred, today")):
        with column:
            st.markdown(f"**{title.capitalize()}**")
            if figures:
                st.bar_chart(pd.DataFrame({title: figures}), horizontal=True, height=40 + 28 * len(figures))
            else:
                st.caption("none yet")
    st.download_button("Decisions as CSV", session.deferred("decisions_csv"),
                       file_name="decisions.csv", mime="text/csv", key="decisions_csv",
                       help="The team's newest 10,000 decisions, with each video's name, risk and state")


def _chart(panel: OperationsPanel) -> alt.Chart | None:
    rows = [{"time": pd.Timestamp(t, unit="s", tz="UTC"), "value": v, "series": series.legend}
            for series in panel.series for t, v in series.points]
    if not rows:
        return None
    return alt.Chart(pd.DataFrame(rows)).mark_line().encode(
        x=alt.X("time:T", title=None), y=alt.Y("value:Q", title=UNIT_TITLES.get(panel.unit, panel.unit)),
        # Legends in columns under the chart: a half-width chart's single row cut the series' names off.
        color=alt.Color("series:N", title=None, legend=alt.Legend(orient="bottom", columns=2, labelLimit=220)),
        tooltip=["series", "time:T", alt.Tooltip("value:Q", format=".3~g")]).properties(height=220)


@st.fragment(run_every=OPERATIONS_REFRESH_S)
def _operations(minutes: int) -> None:
    operations = session.call(lambda c: c.operations(minutes))
    if operations is None:
        return
    if operations.prometheus is None:
        st.info(operations.message or "no Prometheus is configured")
        return
    columns = st.columns(2)
    for number, panel in enumerate(operations.panels):
        with columns[number % 2]:
            st.markdown(f"**{panel.title}**", help=panel.description)
            chart = _chart(panel)
            if chart is not None:
                st.altair_chart(chart, use_container_width=True)
            else:
                st.caption(f"Prometheus: {panel.error}" if panel.error else "no data in this window yet")
    st.caption(f"from {operations.prometheus}, refreshed every {OPERATIONS_REFRESH_S} s")


def render() -> None:
    st.title("Monitoring")
    _figures()
    st.subheader("Operations")
    window = st.segmented_control("Window", list(WINDOWS), default="last hour", key="operations_window")
    _operations(WINDOWS[window or "last hour"])
