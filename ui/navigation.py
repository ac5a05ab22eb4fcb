"""The UI's pages, and moving between them with the state the next page reads (which job, where to seek)."""

from __future__ import annotations

import streamlit as st

JOB = "review_job"  # the job the review page shows
SEEK = "seek_s"  # where its player starts

_pages: dict[str, st.Page] = {}


def register(pages: dict[str, st.Page]) -> None:
    _pages.update(pages)


def open_review(job_id: str, seek_s: float = 0.0) -> None:
    """Show a job on the review page, its player at ``seek_s``."""
    st.session_state[JOB] = str(job_id)
    st.session_state[SEEK] = float(seek_s)
    st.switch_page(_pages["review"])


def clock(seconds: float) -> str:
    minutes, rest = divmod(max(0.0, seconds), 60)
    return f"{int(minutes):02d}:{rest:04.1f}"
