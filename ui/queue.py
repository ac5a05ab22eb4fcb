"""The queue page: the team's review (escalation, or a policy's own) queue by priority and risk, with counts and
filters, and "claim next". Each video with its picture (blurred where sensitive), length, wait and id; the list
refreshes itself."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from vidsafe.catalogue import Module
from vidsafe.domain.review import ReviewItem
from vidsafe.ui import navigation, session, thumbnails
from vidsafe.ui.markdown import plain
from vidsafe.ui.navigation import clock

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


def waited(since: datetime, now: datetime) -> str:
    minutes = max(0, int((now - since).total_seconds() // 60))
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h" if minutes < 48 * 60 else f"{minutes // 1440} d"


def _picture(item: ReviewItem) -> str | None:
    """The item's thumbnail as a data URL (the browser holds no key), blurred where its reason is sensitive."""
    jpeg = session.cached("thumbnail", str(item.job_id), item.cover_frame) if item.cover_frame is not None else None
    if jpeg is None:
        return None
    policy = session.policy()
    blur = session.me().preferences.blur_sensitive and any(
        r.severity >= policy.blur_min_severity and r.module not in thumbnails.UNSEEN for r in item.risk_reasons[:1])
    png = thumbnails.annotate(jpeg, [], (1, 1), blur)
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _table(items: list[ReviewItem]) -> pd.DataFrame:
    now, me = datetime.now(UTC), session.me().key.name
    return pd.DataFrame([{
        "picture": _picture(item), "video": item.source_name, "risk": item.risk,
        "length": clock(item.duration_s) if item.duration_s is not None else "-",
        "waiting": waited(item.created_at, now), "priority": item.priority,
        "why": ", ".join(f"{r.module}:{r.label}" for r in item.risk_reasons[:2]) or "-",
        "claimed by": "you" if item.claimed_by == me else item.claimed_by or "",
        "assigned to": item.assigned_to or "", "reviewers": item.reviews_required,
        "id": str(item.job_id)[:8], "job": str(item.job_id)} for item in items])


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
    _listing(filters)


@st.fragment(run_every=20)
def _listing(filters: dict) -> None:
    """A page of the queue, refreshed every 20 s (claims, decisions and new videos come in meanwhile)."""
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
                       "picture": st.column_config.ImageColumn("picture", width="small"), "job": None},
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
    st.caption(f"refreshed {datetime.now(UTC):%H:%M:%S} UTC, every 20 s")
