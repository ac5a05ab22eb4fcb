"""A job's plan: chunks of frames, the audio, the rules; nothing past the probed duration and its margin."""

from __future__ import annotations

from itertools import pairwise

import pytest

from vidsafe.catalogue import Module
from vidsafe.domain.jobs import MediaInfo
from vidsafe.media.probe import decode_end_s
from vidsafe.workers.planning import plan


def _media(duration_s: float) -> MediaInfo:
    return MediaInfo(container="matroska,webm", codec="h264", width=64, height=48, duration_s=duration_s, fps=10.0,
                     size_bytes=1000, has_audio=True)


@pytest.mark.parametrize(("duration_s", "end_s"), [(10.0, 11.0), (3600.0, 3636.0)])
def test_the_last_chunk_and_the_audio_end_a_margin_past_the_duration(duration_s: float, end_s: float) -> None:
    """A second, or 1 % of a long video: what a file holds past it is neither decoded nor charged."""
    media = _media(duration_s)
    parts = plan(media, {Module.nudity, Module.speech}, chunk_s=4.0)
    frames = [part for part in parts if part.kind == "frames"]
    assert frames[-1].end_s == decode_end_s(media) == pytest.approx(end_s)
    assert all(a.end_s == b.start_s for a, b in pairwise(frames))
    assert [part.end_s for part in parts if part.kind == "audio"] == [pytest.approx(end_s)]
