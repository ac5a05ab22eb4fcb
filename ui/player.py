"""The review player: a Streamlit component of the UI's own (``components/player.js``, bundled: nothing is
downloaded), which the browser feeds from the gateway by a short-lived signed media link, so no video passes
through the UI's process. Under the video, a lane per category with the flagged segments as bands (click or drag to
seek); stretches with sensitive findings blurred until revealed one at a time; J/K/L, space, frame steps, speeds.
It reports back where it stopped and how many unblurred sensitive seconds were played."""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from vidsafe.catalogue import entry
from vidsafe.client import GatewayError
from vidsafe.domain.findings import Finding
from vidsafe.domain.jobs import Job
from vidsafe.domain.review import FlaggedSegment
from vidsafe.domain.teams import Preferences
from vidsafe.ui import navigation, session, thumbnails
from vidsafe.ui.markdown import plain

_ASSETS = Path(__file__).parent / "components"
_player = st.components.v2.component("vidsafe_player", js=(_ASSETS / "player.js").read_text(),
                                     css=(_ASSETS / "player.css").read_text())
_LINK = "media_link"  # (job id, url, ends at) of the link the player streams by
_RENEW_BEFORE_S = 300.0  # a link this close to its end is replaced (the player carries on where it was)
_LAST_FRAME_S = 1.0  # a sampled frame's interval at the usual rates (1 to 2 fps), the last frame's time on
PALETTE = ("#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#1f77b4", "#2ca02c", "#bcbd22", "#17becf")


@dataclass(frozen=True)
class PlayerState:
    time_s: float | None  # where the reviewer stopped the player (None before they did)
    exposure_s: float  # unblurred seconds of sensitive stretches played since the page opened the video


def media_url(job_id: str) -> str | None:
    """A media link to the job's video for the browser (the one held, unless it nears its end); None where the video
    is not kept."""
    held = st.session_state.get(_LINK)
    if held and held[0] == job_id and held[2] - time.time() > _RENEW_BEFORE_S:
        return held[1]
    try:
        with session.client() as gateway:
            link = gateway.media_link(job_id)
    except GatewayError as error:
        if error.code != "media_gone":
            st.error(f"the video cannot be played: {plain(error.message)} ({error.code})")
        return None
    st.session_state[_LINK] = (job_id, link.url, link.expires_at.timestamp())
    return link.url


def stretches(flagged: list[FlaggedSegment], min_severity: float,
              findings: Sequence[Finding] = ()) -> list[dict[str, Any]]:
    """The sensitive stretches the player blurs: flagged segments of what is seen, at least ``min_severity`` severe,
    overlapping ones merged, each with what the reviewer can decide from before revealing it: what was found there,
    and the text on screen and the words said meanwhile."""
    sensitive = sorted((s for s in flagged if s.severity >= min_severity and s.module not in thumbnails.UNSEEN),
                       key=lambda s: s.start_s)
    merged: list[dict[str, Any]] = []
    for segment in sensitive:
        what = f"{segment.category} ({segment.module}:{segment.label} {segment.max_score:.2f})"
        # A segment is its sampled frames' times: the stretch covers the last one's interval too.
        end = segment.end_s + _LAST_FRAME_S
        if merged and segment.start_s <= merged[-1]["end"]:
            merged[-1]["end"] = max(merged[-1]["end"], end)
            if what not in merged[-1]["why"]:
                merged[-1]["why"] += f", {what}"
        else:
            merged.append({"start": segment.start_s, "end": end, "why": what})
    for stretch in merged:
        texts = dict.fromkeys(f.text for f in sorted(findings, key=lambda f: f.timestamp_s)
                              if f.module in thumbnails.UNSEEN_TEXT and f.text
                              and stretch["start"] <= f.timestamp_s < stretch["end"])
        stretch["texts"] = " / ".join(texts)[:300]
    return merged


def lanes(flagged: list[FlaggedSegment]) -> list[dict[str, str]]:
    """A lane per category, the one that drives the risk most on top, each with its colour."""
    order: dict[str, float] = {}
    for segment in flagged:
        order[segment.category] = max(order.get(segment.category, 0.0), segment.contribution)
    names = sorted(order, key=lambda name: -order[name])
    return [{"name": name, "colour": colour} for name, colour in zip(names, itertools.cycle(PALETTE), strict=False)]


def render(job: Job, flagged: list[FlaggedSegment], findings: list[Finding],
           preferences: Preferences) -> PlayerState | None:
    """The player of the job's video, or None (with the reason shown) where it is not kept."""
    url = media_url(str(job.id))
    if url is None:
        st.info("The video is no longer kept for replay (its team's retention has passed, or none is set).")
        return None
    policy = session.policy()
    fps = job.media.fps if job.media and job.media.fps else 25.0
    result = _player(key="player", data={
        "job": str(job.id), "src": url, "duration": job.media.duration_s if job.media else 0.0, "fps": fps,
        "lanes": lanes(flagged),
        "bands": [{"lane": s.category, "label": f"{s.module}:{s.label}", "start": s.start_s,
                   "end": max(s.end_s, s.start_s + 1.0 / fps), "score": s.max_score,
                   "colour": entry(s.module).colour} for s in flagged],
        "stretches": stretches(flagged, policy.blur_min_severity, findings),
        "protect": {"blur": preferences.blur_sensitive, "grayscale": preferences.grayscale,
                    "muted": preferences.muted},
        "seek": {"t": st.session_state.get(navigation.SEEK, 0.0),
                 "nonce": st.session_state.get(navigation.SEEK_NONCE, 0)},
    }, default={"time": None, "exposure_s": 0.0}, on_time_change=lambda: None, on_exposure_s_change=lambda: None)
    return PlayerState(time_s=result.time, exposure_s=result.exposure_s or 0.0)
