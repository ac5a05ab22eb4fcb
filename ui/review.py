"""The review page: one video, where and why it was flagged, and the reviewer's decision.

Above the fold at 1440x900: the player (streamed from the gateway, its timeline of flagged segments under it,
sensitive stretches blurred) and the decision beside it, then why the video scored its risk, the rules that fired
and its summary. Below: the evidence by segment, faces, on-screen text, transcript and audit trail. The job's id
is in the page's address, so a reload shows it again; while the reviewer holds the item its claim is renewed.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from vidsafe.catalogue import Module
from vidsafe.client import GatewayError
from vidsafe.domain.findings import Finding
from vidsafe.domain.jobs import Job, JobStatus
from vidsafe.domain.review import ReviewItem
from vidsafe.domain.teams import Preferences, Scope
from vidsafe.ui import decision, evidence, navigation, player, session, timeline
from vidsafe.ui.markdown import plain
from vidsafe.ui.navigation import clock


@st.fragment(run_every=60)
def _keep_claim(job_id: str) -> None:
    """Renew this reviewer's claim while the page is open (every minute, well within the lease)."""
    try:
        with session.client() as gateway:
            item = gateway.review_item(job_id)
            if item.claimed_by == session.me().key.name and item.state == "open":
                gateway.review_action(job_id, "renew")
                st.caption(f"claimed by you until {item.lease_until:%H:%M:%S} (renewed while open)")
            elif item.claimed_by:
                st.warning(f"{item.claimed_by} is reviewing this video")
    except GatewayError:
        pass  # not in the queue (not analysed yet): nothing to hold


def _claim_controls(job_id: str) -> None:
    """Give the item back (or skip it for good), and, for a lead (admin key), assign it to a reviewer."""
    item = session.call(lambda c: c.review_item(job_id), "not in the review queue")
    if item is None:
        return
    me = session.me()
    columns = st.columns([1, 1, 3])
    if item.claimed_by == me.key.name:
        for column, action in zip(columns, ("release", "skip"), strict=False):
            released = column.button(action.capitalize(), key=f"claim_{action}", help=f"{action} this video") and \
                session.call(lambda c, name=action: c.review_action(job_id, name)) is not None
            if released:
                st.session_state.pop(navigation.JOB, None)
                st.query_params.pop("job", None)
                st.rerun()
    if Scope.admin in me.key.scopes:
        keys = session.call(lambda c: c.keys()) or []
        names = [None, *(k.name for k in keys if k.revoked_at is None)]
        chosen = columns[2].selectbox("Assign to", names, index=names.index(item.assigned_to)
                                      if item.assigned_to in names else 0, key="assignee",
                                      format_func=lambda n: "anyone" if n is None else n)
        if chosen != item.assigned_to:
            session.call(lambda c: c.assign_review(job_id, chosen), "could not assign")


def _choose_job() -> str | None:
    """Where the page's address names no job: the item this reviewer holds, else one they pick."""
    held = session.call(lambda c: c.review_items(mine=True, limit=1))
    if held and held[0]:
        return str(held[0][0].job_id)
    st.info("Claim the next video from the queue, or pick a recent one.")
    page = session.call(lambda c: c.jobs_page(limit=50, status=JobStatus.succeeded))
    jobs = page[0] if page else []
    if not jobs:
        return None
    chosen = st.selectbox("Recent videos", jobs, format_func=lambda j: f"{j.source_name} ({j.id})", index=None,
                          key="review_pick")
    return str(chosen.id) if chosen else None


def _header(job: Job) -> None:
    st.markdown(f"### {plain(job.source_name)}")
    facts = [f"risk **{job.risk:.2f}**" if job.risk is not None else "risk -", str(job.status)]
    if job.coverage is not None:
        facts.append(f"coverage {job.coverage.share:.0%} ({job.coverage.frames_analyzed} of "
                     f"{job.coverage.frames_expected} frames)")
    if job.media is not None:
        facts.append(f"{clock(job.media.duration_s)} long, {job.media.width}x{job.media.height}")
    st.caption(" · ".join([*facts, f"job {job.id}"]))
    for warning in job.warnings:
        st.warning(f"{warning.code}: {plain(warning.message)}")
    if job.coverage is not None and job.coverage.undecodable:
        st.warning("Not analysed (undecodable): " + ", ".join(f"{clock(r.start_s)}-{clock(r.end_s)}"
                                                              for r in job.coverage.undecodable))


def _why(job: Job) -> None:
    st.markdown("**Why:** " + ("; ".join(
        f"{r.module}:{plain(r.label)} at {clock(r.start_s)}-{clock(r.end_s)} (score {r.score:.2f} x severity "
        f"{r.severity:.1f})" for r in job.risk_reasons) or "no finding of a category with a severity (see the "
        "risk_severities setting)"))
    fired = [f for f in session.call(lambda c: c.rule_firings(str(job.id))) or []
             if f.policy_version == job.policy_version]
    if fired:
        st.markdown("**Rules:** " + "; ".join(
            f"{plain(f.rule)}{' (background: would have)' if f.state == 'background' else ''} "
            f"{plain(f.taken)}, for {plain(f.why)}" for f in fired))


_EXPOSURE = "exposure_reported"  # (job id, the player's count when last reported)
ACTION_COLOURS = {"approve": "green", "review": "orange", "escalate": "red", "remove": "red"}


@st.fragment(run_every=5)
def _summary(job_id: str) -> None:
    """The job's summary (what, where, the suggested action), made again on request; polled while one is made."""
    record = session.call(lambda c: c.summary(job_id), "no summary")
    if record is None:
        return
    if record.summary is not None:
        summary = record.summary
        colour = ACTION_COLOURS[summary.suggested_action]
        st.markdown(f"**Summary:** {summary.headline}  \n"
                    f"Suggested action: :{colour}[**{summary.suggested_action}**] - {summary.rationale}")
        for item in summary.findings:
            if st.button(f"{clock(item.start_s)}-{clock(item.end_s)} {item.what} ({item.severity})",
                         key=f"summary-{item.start_s}-{item.what}", type="tertiary"):
                navigation.seek(item.start_s)
                st.rerun()  # the whole page: the player is outside this fragment
    made_by = record.provider + (f" {record.model}" if record.model else "")
    if record.state == "queued":
        st.caption(f"a new summary by {made_by} is on its way ...")
    elif record.state == "failed":
        st.warning(f"The summary by {made_by} failed: {record.error}")
    else:
        st.caption(f"by {made_by}")
    if st.button("Summarise again", key="summarise", disabled=record.state == "queued") \
            and session.call(lambda c: c.regenerate_summary(job_id)) is not None:
        st.rerun(scope="fragment")


def _scores(job: Job, findings: list[Finding]) -> None:
    series = timeline.score_series(findings)
    if series.empty:
        st.caption("No scored findings to plot.")
        return
    limits = timeline.thresholds(series, session.policy().min_scores)
    chart = timeline.timeline_chart(series, limits, job.media.duration_s if job.media else 0.0)
    event = st.altair_chart(chart, on_select="rerun", selection_mode=timeline.SELECTION, key="timeline")
    picked = timeline.picked_time(event)
    if picked is not None and st.session_state.get("timeline_picked") != picked:
        st.session_state["timeline_picked"] = picked
        navigation.seek(picked)
        st.rerun()


def _report_exposure(job_id: str, played_s: float) -> None:
    """Send the gateway the unblurred sensitive seconds the player counted since the last report (its count starts
    again at each video it opens)."""
    last_job, last_s = st.session_state.get(_EXPOSURE, (None, 0.0))
    since = played_s - last_s if last_job == job_id and played_s >= last_s else played_s
    if since >= 0.5 and session.call(lambda c: c.report_exposure(min(since, 3600.0))) is not None:
        st.session_state[_EXPOSURE] = (job_id, played_s)


def _protection(preferences: Preferences) -> Preferences:
    """The reviewer's own protection and flow settings, kept with their key."""
    with st.popover("Protection", icon=":material/visibility_off:"):
        chosen = Preferences(
            blur_sensitive=st.toggle("Blur sensitive stretches and frames", preferences.blur_sensitive,
                                     key="pref_blur"),
            grayscale=st.toggle("Grayscale", preferences.grayscale, key="pref_gray"),
            muted=st.toggle("Start muted", preferences.muted, key="pref_muted"),
            open_next=st.toggle("Open the next video after deciding", preferences.open_next, key="pref_next"))
    if chosen != preferences and (saved := session.call(lambda c: c.set_preferences(chosen))) is not None:
        session.remember_preferences(saved)
        return saved
    return preferences


def _audit(job: Job) -> None:
    events = session.call(lambda c: c.events(str(job.id))) or []
    st.table(pd.DataFrame([{
        "at": e.at.strftime("%Y-%m-%d %H:%M:%S"), "kind": e.kind,
        "change": f"{e.from_status or ''} -> {e.to_status}" if e.kind == "status" else "",
        "actor": e.actor, "detail": e.reason or ""} for e in events]).set_index("at"))


def render() -> None:
    # The address's job first: a reload shows it again.
    job_id = st.query_params.get("job") or st.session_state.get(navigation.JOB) or _choose_job()
    if job_id is None:
        return
    st.session_state[navigation.JOB] = job_id
    st.query_params["job"] = job_id
    job = session.call(lambda c: c.job(job_id), "no such job")
    if job is None:
        return
    _header(job)
    if job.status != JobStatus.succeeded:
        st.info(f"This job is {job.status}; its findings come when it has been analysed.")
        return
    item: ReviewItem | None = None
    try:
        with session.client() as gateway:
            item = gateway.review_item(job_id)
    except GatewayError:
        pass  # not in a queue (never judged): decisions are still recorded
    findings = session.cached("findings", job_id).findings
    flagged = session.call(lambda c: c.flagged_segments(job_id)) or []
    preferences = session.me().preferences
    main, side = st.columns([3, 2])
    with main:
        preferences = _protection(preferences)
        state = player.render(job, flagged, findings, preferences)
        if state is not None and state.time_s is not None:
            st.session_state[navigation.SEEK] = state.time_s
        if state is not None:
            _report_exposure(job_id, state.exposure_s)
    with side:
        _keep_claim(job_id)
        _claim_controls(job_id)
        decision.render(job_id, flagged, item, preferences)
        with st.container(height=260, border=True):
            _why(job)
            _summary(job_id)
    tabs = st.tabs(["Evidence", "Faces", "On-screen text", "Transcript", "Scores", "Audit trail"])
    with tabs[0]:
        evidence.by_segment(job, flagged, findings, preferences)
    with tabs[1]:
        evidence.faces(findings)
    with tabs[2]:
        evidence.text_lines(findings, Module.ocr, "caption")
    with tabs[3]:
        evidence.text_lines(findings, Module.speech, "transcript")
    with tabs[4]:
        _scores(job, findings)
    with tabs[5]:
        _audit(job)
