"""The review page's decision: what it is on (the whole video, or one of the segments the policy flags, each with
the decisions it has), the policy label and the reason, and Approve, Reject or Escalate, by click or key, confirmed
once (Enter) or called off (Esc). A rejection needs a label and a reason; the form starts afresh after each
decision; when the video is done, the next one from its queue opens (the reviewer's open_next setting)."""

from __future__ import annotations

import streamlit as st

from vidsafe.domain.requests import DecisionRequest
from vidsafe.domain.review import DecisionAction, FlaggedSegment, ReviewItem, ReviewState
from vidsafe.domain.teams import Preferences
from vidsafe.ui import navigation, session
from vidsafe.ui.markdown import plain
from vidsafe.ui.navigation import clock

POLICY_LABELS = ["none", "adult_nudity", "sexual_activity", "violence", "graphic_gore", "restraint_abuse",
                 "hate_speech", "harassment", "self_harm", "drugs", "weapons", "scams", "spam", "other"]
_TARGET, _LABEL, _NOTE = "decision_target", "decision_policy", "decision_note"
_PENDING = "decision_pending"
_RESET = "decision_reset"
_JOB = "decision_job"  # the video the form is about
_RECORDED = "decision_recorded"
_MARKS = {DecisionAction.approve: "✓ approved", DecisionAction.reject: "✗ rejected"}
_SHORTCUTS = {DecisionAction.approve: "a", DecisionAction.reject: "x", DecisionAction.escalate: "e"}


def segment_line(segment: FlaggedSegment) -> str:
    state = ", ".join(f"{_MARKS[d.action]} by {d.actor}" for d in segment.decisions[-1:]) or "to decide"
    return (f"{clock(segment.start_s)}-{clock(segment.end_s)} {segment.category} "
            f"({segment.module}:{segment.label} {segment.max_score:.2f}) - {state}")


def _target_text(segment: FlaggedSegment | None) -> str:
    return "the whole video" if segment is None else f"{clock(segment.start_s)}-{clock(segment.end_s)} " \
        f"{segment.category}"


_WHOLE = "video"  # the option of the whole video; a segment's is its place in the list, as text


def _picked(flagged: list[FlaggedSegment]) -> FlaggedSegment | None:
    """The segment the decision is on (None: the whole video). The options are text: a radio's value comes back
    as what the browser held, which is text once the widget was made again."""
    value = str(st.session_state.get(_TARGET) or _WHOLE)
    return flagged[int(value)] if value.isdigit() and int(value) < len(flagged) else None


def _seek_to_target(flagged: list[FlaggedSegment]) -> None:
    if (segment := _picked(flagged)) is not None:
        navigation.seek(segment.start_s)


def _record(job_id: str, item: ReviewItem | None, request: DecisionRequest, preferences: Preferences) -> None:
    decision = session.call(lambda c: c.decide(job_id, request), "the decision was not recorded")
    st.session_state.pop(_PENDING, None)
    if decision is None:
        return
    st.session_state[_RESET] = True
    st.session_state[_RECORDED] = f"Recorded: {decision.action} ({decision.policy_label}) by {decision.actor}"
    if preferences.open_next and item is not None:
        after = session.call(lambda c: c.review_item(job_id), "not in the review queue")
        # Done with it: a decision on the whole video (or an escalation), or the last flagged segment decided.
        if after is not None and (request.start_s is None or after.state == ReviewState.decided):
            following = session.call(lambda c: c.claim_next(queue=item.queue))
            if following is not None:
                navigation.open_review(str(following.job_id))
    st.rerun()


def render(job_id: str, flagged: list[FlaggedSegment], item: ReviewItem | None, preferences: Preferences) -> None:
    # A new form after a decision and for another video; set, not forgotten: a forgotten radio kept its old choice.
    if st.session_state.pop(_RESET, False) or st.session_state.get(_JOB) != job_id:
        st.session_state.update({_TARGET: _WHOLE, _LABEL: "none", _NOTE: "", _JOB: job_id})
        st.session_state.pop(_PENDING, None)
    st.subheader("Decision")
    if recorded := st.session_state.pop(_RECORDED, None):
        st.success(plain(recorded))
    done = sum(1 for s in flagged if s.decisions)
    st.caption(f"{done} of {len(flagged)} flagged segments decided" + (
        f"; the item is {item.state}" + (f" in {item.queue}" if item.queue != "review" else "") if item else ""))
    with st.container(height=min(60 + 32 * len(flagged), 230), border=False):
        st.radio("On", [_WHOLE, *map(str, range(len(flagged)))], key=_TARGET, on_change=_seek_to_target,
                 args=(flagged,), label_visibility="collapsed",
                 format_func=lambda i: "the whole video" if i == _WHOLE else segment_line(flagged[int(i)]))
    target = _picked(flagged)
    labels = list(dict.fromkeys(["none", *(s.category for s in flagged), *POLICY_LABELS]))
    columns = st.columns([1, 2])
    label = columns[0].selectbox("Policy", labels, key=_LABEL)
    note = columns[1].text_input("Reason", key=_NOTE, max_chars=4000, placeholder="why (needed to reject)")
    buttons = st.columns(3)
    for column, action in zip(buttons, DecisionAction, strict=True):
        if column.button(action.capitalize(), key=str(action), shortcut=_SHORTCUTS[action],
                         type="primary" if action == DecisionAction.reject else "secondary",
                         help=f"Shortcut: {_SHORTCUTS[action]}, then Enter to confirm", width="stretch"):
            st.session_state[_PENDING] = action
    pending = st.session_state.get(_PENDING)
    if pending is None:
        return
    if pending == DecisionAction.reject and (label == "none" or not note.strip()):
        st.error("A rejection names the policy it breaks (not none) and says why: fill in Policy and Reason.")
        st.session_state.pop(_PENDING)
        return
    with st.container(border=True):
        st.markdown(f"**{pending.capitalize()}** {plain(_target_text(target))} under **{plain(label)}**?")
        confirm, cancel = st.columns(2)
        if cancel.button("Cancel", key="decision_cancel", shortcut="Esc", width="stretch"):
            st.session_state.pop(_PENDING)
            st.rerun()
        if confirm.button("Confirm", key="decision_confirm", shortcut="Enter", type="primary", width="stretch"):
            _record(job_id, item, DecisionRequest(action=pending, policy_label=label, note=note,
                                                  start_s=target.start_s if target else None,
                                                  end_s=target.end_s if target else None), preferences)
