"""The review page's evidence: for each segment the policy flags, what drives the risk first, one representative
frame (its best-scoring finding's thumbnail, with the boxes, blurred while sensitive until revealed); the faces
(and the same face in the team's other videos); the on-screen text and the transcript. Each seeks the player."""

from __future__ import annotations

import streamlit as st

from vidsafe.catalogue import Module
from vidsafe.domain.findings import Finding
from vidsafe.domain.jobs import Job
from vidsafe.domain.review import FlaggedSegment
from vidsafe.domain.teams import Preferences
from vidsafe.ui import navigation, session, thumbnails
from vidsafe.ui.decision import segment_line
from vidsafe.ui.markdown import plain
from vidsafe.ui.navigation import clock

_REVEALED = "revealed_frames"
SEGMENTS_SHOWN = 12


def representative(segment: FlaggedSegment, findings: list[Finding]) -> Finding | None:
    """The segment's best-scoring finding on a sampled frame (the frame to show for it)."""
    inside = [f for f in findings if f.module == segment.module and f.label == segment.label
              and f.frame_index is not None and segment.start_s <= f.timestamp_s <= segment.end_s]
    return max(inside, key=lambda f: f.score, default=None)


def by_segment(job: Job, flagged: list[FlaggedSegment], findings: list[Finding], preferences: Preferences) -> None:
    if not flagged:
        st.caption("The policy flags no segment of this video.")
        return
    revealed: set[int] = st.session_state.setdefault(_REVEALED, set())
    policy = session.policy()
    size = (job.media.width, job.media.height) if job.media else (1, 1)
    columns = st.columns(4)
    for slot, segment in enumerate(flagged[:SEGMENTS_SHOWN]):
        with columns[slot % 4], st.container(border=True):
            st.caption(plain(segment_line(segment)))
            shown = representative(segment, findings)
            jpeg = session.cached("thumbnail", str(job.id), shown.frame_index) if shown is not None else None
            if shown is None or jpeg is None:
                st.caption("no frame to show (a finding of sound or text)")
            else:
                on_frame = [f for f in findings if f.frame_index == shown.frame_index and not f.is_index_entry]
                blur = (preferences.blur_sensitive and shown.frame_index not in revealed
                        and segment.severity >= policy.blur_min_severity)
                st.image(thumbnails.annotate(jpeg, on_frame, size, blur),
                         caption=f"frame at {clock(shown.timestamp_s)}")
                if blur and st.button("Reveal", key=f"reveal_{shown.frame_index}"):
                    revealed.add(shown.frame_index)
                    st.rerun()
            if st.button("Seek", key=f"seek_segment_{slot}"):
                navigation.seek(segment.start_s)
                st.rerun()
    if len(flagged) > SEGMENTS_SHOWN:
        st.caption(f"{len(flagged) - SEGMENTS_SHOWN} more flagged segments: pick them in the decision's list.")


def faces(findings: list[Finding]) -> None:
    found = [f for f in findings if f.module == Module.faces and f.id is not None]
    identities: dict[object, Finding] = {}
    for face in sorted(found, key=lambda f: -f.score):
        identities.setdefault(face.attributes.get("identity"), face)
    if not identities:
        st.caption("No faces.")
        return
    for identity, face in identities.items():
        columns = st.columns([2, 1, 1])
        columns[0].write(f"face {identity} first best at {clock(face.timestamp_s)} (score {face.score:.2f})")
        if columns[1].button("Seek", key=f"seek_face_{face.id}"):
            navigation.seek(face.timestamp_s)
            st.rerun()
        if columns[2].button("Find in other videos", key=f"similar_{face.id}"):
            others = session.call(lambda c, face_id=face.id: c.similar_faces(face_id, other_videos=True)) or []
            st.write(f"{len(others)} faces in other videos" if others else "Not seen in other videos.")
            for hit in others[:10]:
                st.write(f"- job {hit['job_id']} at {clock(hit['finding']['timestamp_s'])} "
                         f"(distance {hit['cosine_distance']:.2f})")


def text_lines(findings: list[Finding], module: Module, key: str) -> None:
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
            navigation.seek(finding.timestamp_s)
            st.rerun()
