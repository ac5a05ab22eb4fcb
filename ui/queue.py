"""The queue page: the team's review (escalation, or a policy's own) queue by priority and risk, with counts and
filters, and "claim next"."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from vidsafe.catalogue import Module
from vidsafe.domain.review import ReviewItem
from vidsafe.ui import navigation, session
from vidsafe.ui.markdown import plain

_CURSORS = "queue_cursors"  # the cursors of the pages before this one, to page back


def _filters(queues: list[str]) -> dict:
    # On a row of its own: the queues a policy adds may be many, with long names.
    queue = st.segmented_control("Queue", queues, default="review", key="queue_name",
                                 help="review, escalation, and the queues the policy's rules route to")
    columns = st.columns([1, 1, 1.4, 1])
    module = columns[0].selectbox("Module", [None, *Module], format_func=lambda m: "any" if m is None else str(m),
                                  key="queue_module")
    label = columns[1].text_input("Label", key="queue_label", placeholder="e.g. FEMALE_BREAST_EXPOSED")
    batches = session.call(lambda c: c.batches(limit=100)) or []
    batch = columns[2].selectbox("Batch", [None, *batches], key="queue_batch",
                                 format_func=lambda b: "any" if b is None else b.name)
    min_risk = columns[3].slider("Min risk", 0.0, 1.0, 0.0, 0.05, key="queue_min_risk")
    return {"queue": queue or "review", "module": module, "label": label or None,
            "batch_id": str(batch.id) if batch else None, "min_risk": min_risk or None}


def _table(items: list[ReviewItem]) -> pd.DataFrame:
    return pd.DataFrame([{
        "risk": item.risk, "priority": item.priority, "video": item.source_name,
        "why": ", ".join(f"{r.module}:{r.label}" for r in item.risk_reasons[:2]) or "-",
        "claimed by": item.claimed_by or "", "assigned to": item.assigned_to or "",
        "reviewers": item.reviews_required,
        "added": item.created_at.strftime("%Y-%m-%d %H:%M"), "job": str(item.job_id)} for item in items])


def render() -> None:
    st.title("Review queue")
    counts = session.call(lambda c: c.review_counts()) or {}
    own = sorted(set(counts) - {"review", "escalation", "claimed"})  # the queues the policy's rules route to
    metrics = st.columns(3)
    metrics[0].metric("Open for review", counts.get("review", 0))
    metrics[1].metric("Escalations", counts.get("escalation", 0))
    metrics[2].metric("Claimed now", counts.get("claimed", 0))
    if own:
        st.caption("Open in the team's own queues: " + ", ".join(f"{plain(name)} {counts[name]}" for name in own))
    filters = _filters(["review", "escalation", *own])
    if st.button("Claim next", type="primary", shortcut="n", key="claim_next", help="Shortcut: n"):
        item = session.call(lambda c: c.claim_next(**filters), "could not claim")
        if item is None:
            st.info("Nothing left to claim with these filters.")
        else:
            navigation.open_review(str(item.job_id))
    cursors: list[str | None] = st.session_state.setdefault(_CURSORS, [None])
    listing = {k: v for k, v in filters.items() if k != "queue"}
    page = session.call(lambda c: c.review_items(filters["queue"], cursor=cursors[-1], limit=25, **listing))
    if page is None:
        return
    items, next_cursor = page
    if not items:
        st.info("The queue is empty: every analysed video has been decided.")
        return
    event = st.dataframe(
        _table(items), hide_index=True, on_select="rerun", selection_mode="single-row", key="queue_table",
        column_config={"risk": st.column_config.ProgressColumn("risk", min_value=0, max_value=1, format="%.2f"),
                       "job": None},
    )
    rows = event.selection.rows if event and event.selection else []
    if rows:
        navigation.open_review(str(items[rows[0]].job_id))
    pager = st.columns([1, 1, 6])
    if len(cursors) > 1 and pager[0].button("Previous page", key="queue_previous"):
        cursors.pop()
        st.rerun()
    if next_cursor and pager[1].button("Next page", key="queue_next"):
        cursors.append(next_cursor)
        st.rerun()
