"""The search page: transcripts and on-screen text across the team's videos, by exact words and by meaning,
and faces like a photo's; each hit opens its video at its time."""

from __future__ import annotations

import streamlit as st

from vidsafe.ui import navigation, session
from vidsafe.ui.markdown import plain
from vidsafe.ui.navigation import clock


def _faces_by_photo() -> None:
    photo = st.file_uploader("Or find the face of a photo", type=["jpg", "jpeg", "png", "webp"], key="face_photo")
    if photo is None:
        return
    hits = session.call(lambda c: c.faces_like_photo(photo.getvalue(), photo.name), "no face search")
    if hits is None:
        return
    if not hits:
        st.info("That face is in none of the team's videos.")
    for hit in hits:
        columns = st.columns([3, 1, 2, 1])
        columns[0].write(plain(hit.source_name))
        columns[1].write(clock(hit.finding.timestamp_s))
        columns[2].caption(f"cosine distance {hit.cosine_distance:.2f}")
        if columns[3].button("Open", key=f"open_face_{hit.finding.id}"):
            navigation.open_review(str(hit.job_id), hit.finding.timestamp_s)


def render() -> None:
    st.title("Search")
    _faces_by_photo()
    with st.form("search"):
        query = st.text_input("Words or a sentence", key="search_query", max_chars=500)
        mode = st.segmented_control("By", ["both", "words", "meaning"], default="both", key="search_mode")
        submitted = st.form_submit_button("Search", type="primary")
    if submitted:
        st.session_state["search_last"] = (query, mode or "both")
    if "search_last" not in st.session_state or not st.session_state["search_last"][0].strip():
        return
    query, mode = st.session_state["search_last"]
    results = session.call(lambda c: c.search(query, mode=mode, limit=50), "search failed")
    if results is None:
        return
    for warning in results.warnings:
        st.warning(plain(warning.message))
    if not results.hits:
        st.info("Nothing found.")
        return
    st.caption(f"{len(results.hits)} hits")
    for hit in results.hits:
        columns = st.columns([3, 1, 1, 4, 1.2, 1])
        columns[0].write(plain(hit.source_name))
        columns[1].write(clock(hit.timestamp_s))
        columns[2].write(str(hit.module))
        columns[3].write(plain(hit.text))
        columns[4].caption(" + ".join(hit.matched_by))
        if columns[5].button("Open", key=f"open_hit_{hit.finding_id}"):
            navigation.open_review(str(hit.job_id), hit.timestamp_s)
