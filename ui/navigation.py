"""The UI's pages, and moving between them with the state the next page reads (which job, where to seek)."""

from __future__ import annotations

import streamlit as st

JOB = "review_job"  # the job the review page shows
SEEK = "seek_s"  # where its player goes
SEEK_NONCE = "seek_nonce"  # a new one moves the player to SEEK, even to the same time again

_pages: dict[str, st.Page] = {}


def register(pages: dict[str, st.Page]) -> None:
    _pages.update(pages)


def seek(seconds: float) -> None:
    """Move the review page's player to ``seconds`` at the page's next run."""
    st.session_state[SEEK] = float(seconds)
    st.session_state[SEEK_NONCE] = st.session_state.get(SEEK_NONCE, 0) + 1


def open_review(job_id: str, seek_s: float = 0.0) -> None:
    """Show a job on the review page (its id in the page's address: a reload shows it again), its player at
    ``seek_s``."""
    st.session_state[JOB] = str(job_id)
    seek(seek_s)
    st.switch_page(_pages["review"], query_params={"job": str(job_id)})


def clock(seconds: float) -> str:
    minutes, rest = divmod(max(0.0, seconds), 60)
    return f"{int(minutes):02d}:{rest:04.1f}"
