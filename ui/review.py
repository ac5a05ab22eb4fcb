"""The review page: one video, where and why it was flagged, and the reviewer's decision.

The player seeks to any finding (the timeline, a thumbnail, a transcript line or a caption); flagged frames
are thumbnails with their boxes, blurred for sensitive categories until revealed; the risk's "why", the
coverage, the decision buttons (with keyboard shortcuts) and the audit trail. While the reviewer holds the
item its claim is renewed.
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd
import streamlit as st

from vidsafe.catalogue import Module
from vidsafe.client import GatewayError
from vidsafe.domain.findings import Finding, Segment
from vidsafe.domain.jobs import Job, JobStatus
from vidsafe.domain.requests import DecisionRequest
from vidsafe.domain.review import DecisionAction
from vidsafe.domain.teams import Preferences, Scope
from vidsafe.ui import navigation, session, thumbnails, timeline
from vidsafe.ui.markdown import plain
from vidsafe.ui.navigation import clock

POLICY_LABELS = ["none", "adult_nudity", "sexual_activity", "violence", "graphic_gore", "restraint_abuse",
                 "hate_speech", "harassment", "self_harm", "drugs", "weapons", "spam", "other"]
_REVEALED = "revealed_frames"
THUMBNAILS_SHOWN = 12


def _seek_to(seconds: float) -> None:
    st.session_state[navigation.SEEK] = float(seconds)


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
    st.info("Claim the next video from the queue, or pick a recent one.")
    page = session.call(lambda c: c.jobs_page(limit=50, status=JobStatus.succeeded))
    jobs = page[0] if page else []
    if not jobs:
        return None
    chosen = st.selectbox("Recent videos", jobs, format_func=lambda j: f"{j.source_name} ({j.id})", index=None,
                          key="review_pick")
    return str(chosen.id) if chosen else None


def _header(job: Job) -> None:
    st.title(plain(job.source_name))
    columns = st.columns(4)
    columns[0].metric("Risk", f"{job.risk:.2f}" if job.risk is not None else "-")
    columns[1].metric("Status", str(job.status))
    if job.coverage is not None:
        columns[2].metric("Coverage", f"{job.coverage.share:.0%}",
                          help=f"{job.coverage.frames_analyzed} of {job.coverage.frames_expected} frames analysed")
    if job.media is not None:
        columns[3].metric("Duration", clock(job.media.duration_s))
    for warning in job.warnings:
        st.warning(f"{warning.code}: {plain(warning.message)}")
    if job.coverage is not None and job.coverage.undecodable:
        st.warning("Not analysed (undecodable): " + ", ".join(f"{clock(r.start_s)}-{clock(r.end_s)}"
                                                              for r in job.coverage.undecodable))
    with st.container(border=True):
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


ACTION_COLOURS = {"approve": "green", "review": "orange", "escalate": "red", "remove": "red"}


@st.fragment(run_every=5)
def _summary(job_id: str) -> None:
    """The job's summary (what, where, the suggested action), made again on request; polled while one is made."""
    record = session.call(lambda c: c.summary(job_id), "no summary")
    if record is None:
        return
    with st.container(border=True):
        if record.summary is not None:
            summary = record.summary
            colour = ACTION_COLOURS[summary.suggested_action]
            st.markdown(f"**Summary:** {summary.headline}  \n"
                        f"Suggested action: :{colour}[**{summary.suggested_action}**] - {summary.rationale}")
            for item in summary.findings:
                if st.button(f"{clock(item.start_s)}-{clock(item.end_s)} {item.what} ({item.severity})",
                             key=f"summary-{item.start_s}-{item.what}", type="tertiary"):
                    _seek_to(item.start_s)
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


def _player(job: Job) -> None:
    video = session.cached("media", str(job.id))
    if video is None:
        st.info("The video is no longer kept for replay (its team's retention has passed, or none is set).")
        return
    st.video(video, start_time=int(st.session_state.get(navigation.SEEK, 0.0)))
    st.caption(f"player at {clock(st.session_state.get(navigation.SEEK, 0.0))}")


def _timeline(job: Job, findings: list[Finding]) -> None:
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
        _seek_to(picked)
        st.rerun()


def _flagged(job: Job, findings: list[Finding], preferences: Preferences) -> None:
    by_frame: dict[int, list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.frame_index is not None and not finding.is_index_entry:
            by_frame[finding.frame_index].append(finding)
    if not by_frame:
        st.caption("No frame findings.")
        return
    ranked = sorted(by_frame, key=lambda index: -max(f.score for f in by_frame[index]))[:THUMBNAILS_SHOWN]
    revealed: set[int] = st.session_state.setdefault(_REVEALED, set())
    policy = session.policy()
    size = (job.media.width, job.media.height) if job.media else (1, 1)
    columns = st.columns(4)
    for slot, index in enumerate(sorted(ranked)):
        on_frame = by_frame[index]
        with columns[slot % 4]:
            blur = (preferences.blur_sensitive and index not in revealed
                    and any(thumbnails.is_sensitive(f, policy.severities, policy.blur_min_severity)
                            for f in on_frame))
            jpeg = session.cached("thumbnail", str(job.id), index)
            if jpeg is None:
                st.caption(f"frame {index}: no thumbnail")
                continue
            at = on_frame[0].timestamp_s
            st.image(thumbnails.annotate(jpeg, on_frame, size, blur),
                     caption=f"{clock(at)}: " + ", ".join(sorted({f"{f.module}:{f.label}" for f in on_frame})))
            buttons = st.columns(2)
            if blur and buttons[0].button("Reveal", key=f"reveal_{index}"):
                revealed.add(index)
                st.rerun()
            if buttons[1].button("Seek", key=f"seek_frame_{index}"):
                _seek_to(at)
                st.rerun()


def _faces(job: Job, findings: list[Finding]) -> None:
    faces = [f for f in findings if f.module == Module.faces and f.id is not None]
    identities: dict[object, Finding] = {}
    for face in sorted(faces, key=lambda f: -f.score):
        identities.setdefault(face.attributes.get("identity"), face)
    if not identities:
        st.caption("No faces.")
        return
    for identity, face in identities.items():
        columns = st.columns([2, 1, 1])
        columns[0].write(f"face {identity} first best at {clock(face.timestamp_s)} (score {face.score:.2f})")
        if columns[1].button("Seek", key=f"seek_face_{face.id}"):
            _seek_to(face.timestamp_s)
            st.rerun()
        if columns[2].button("Find in other videos", key=f"similar_{face.id}"):
            others = session.call(lambda c, face_id=face.id: c.similar_faces(face_id, other_videos=True)) or []
            st.write(f"{len(others)} faces in other videos" if others else "Not seen in other videos.")
            for hit in others[:10]:
                st.write(f"- job {hit['job_id']} at {clock(hit['finding']['timestamp_s'])} "
                         f"(distance {hit['cosine_distance']:.2f})")


def _text_lines(findings: list[Finding], module: Module, key: str) -> None:
    lines: dict[str, Finding] = {}
    for finding in sorted((f for f in findings if f.module == module and f.text), key=lambda f: f.timestamp_s):
        lines.setdefault(f"{finding.text}@{round(finding.timestamp_s)}" if module == Module.speech else
                         finding.text or "", finding)
    if not lines:
        st.caption("Nothing.")
        return
    for finding in lines.values():
        label = f"{clock(finding.timestamp_s)}  {plain(finding.text)}"
        if st.button(label, key=f"{key}_{finding.id}", type="tertiary"):
            _seek_to(finding.timestamp_s)
            st.rerun()


def _decide(job: Job, segments: list[Segment]) -> None:
    st.subheader("Decision")
    flagged = [s for s in segments if s.module not in (Module.speech, Module.ocr)]
    targets: list[Segment | None] = [None, *flagged]
    target = st.selectbox("On", targets, key="decision_target", format_func=lambda s: "the whole video" if s is None
                          else f"{clock(s.start_s)}-{clock(s.end_s)} {s.module}:{s.label}")
    policy = st.selectbox("Policy", POLICY_LABELS, key="decision_policy")
    note = st.text_area("Note", key="decision_note", max_chars=4000, height=80)
    buttons = st.columns(3)
    chosen = None
    if buttons[0].button("Approve", key="approve", shortcut="a", help="Shortcut: a"):
        chosen = DecisionAction.approve
    if buttons[1].button("Reject", key="reject", type="primary", shortcut="x", help="Shortcut: x"):
        chosen = DecisionAction.reject
    if buttons[2].button("Escalate", key="escalate", shortcut="e", help="Shortcut: e"):
        chosen = DecisionAction.escalate
    if chosen is not None:
        request = DecisionRequest(action=chosen, policy_label=policy, note=note,
                                  start_s=target.start_s if target else None, end_s=target.end_s if target else None)
        decision = session.call(lambda c: c.decide(str(job.id), request), "the decision was not recorded")
        if decision is not None:
            st.success(f"Recorded: {decision.action} ({decision.policy_label}) by {decision.actor}")


def _audit(job: Job) -> None:
    events = session.call(lambda c: c.events(str(job.id))) or []
    st.table(pd.DataFrame([{
        "at": e.at.strftime("%Y-%m-%d %H:%M:%S"), "kind": e.kind,
        "change": f"{e.from_status or ''} -> {e.to_status}" if e.kind == "status" else "",
        "actor": e.actor, "detail": e.reason or ""} for e in events]).set_index("at"))


def render() -> None:
    job_id = st.session_state.get(navigation.JOB) or _choose_job()
    if job_id is None:
        return
    st.session_state[navigation.JOB] = job_id
    job = session.call(lambda c: c.job(job_id), "no such job")
    if job is None:
        return
    _header(job)
    if job.status != JobStatus.succeeded:
        st.info(f"This job is {job.status}; its findings come when it has been analysed.")
        return
    _keep_claim(job_id)
    _claim_controls(job_id)
    _summary(job_id)
    findings = session.cached("findings", job_id).findings
    segments = session.cached("segments", job_id).segments
    preferences = session.me().preferences
    main, side = st.columns([3, 2])
    with main:
        _player(job)
        _timeline(job, findings)
    with side:
        _decide(job, segments)
        blur = st.toggle("Blur sensitive thumbnails", value=preferences.blur_sensitive, key="blur_pref",
                         help="Your setting, kept with your key")
        if blur != preferences.blur_sensitive:
            saved = session.call(lambda c: c.set_preferences(Preferences(blur_sensitive=blur)))
            if saved is not None:
                session.remember_preferences(saved)
                preferences = saved
    tabs = st.tabs(["Flagged frames", "Faces", "On-screen text", "Transcript", "Audit trail"])
    with tabs[0]:
        _flagged(job, findings, preferences)
    with tabs[1]:
        _faces(job, findings)
    with tabs[2]:
        _text_lines(findings, Module.ocr, "caption")
    with tabs[3]:
        _text_lines(findings, Module.speech, "transcript")
    with tabs[4]:
        _audit(job)
