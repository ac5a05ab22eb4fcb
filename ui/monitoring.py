"""The monitoring page: the team's jobs per state, the review queues, the broker's depth, throughput and the
services' health, refreshed every few seconds."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from vidsafe.ui import session

REFRESH_S = 5


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
    st.caption(f"refreshed every {REFRESH_S} s")


def render() -> None:
    st.title("Monitoring")
    _figures()
