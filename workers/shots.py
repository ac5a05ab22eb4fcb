"""The shots module: a chunk's shots as findings, cut where ``vidsafe/media/cuts.py`` found cuts while decoding."""

from __future__ import annotations

from vidsafe.catalogue import Module
from vidsafe.domain.findings import Finding
from vidsafe.media.cuts import Cut


def shot_findings(cuts: list[Cut], start_s: float, end_s: float) -> list[Finding]:
    """The shots of a chunk [start_s, end_s) cut at ``cuts``. The first starts at the chunk's start and, unless
    a cut falls there, ``continues`` the last shot of the chunk before (segments join the two)."""
    inside = [cut for cut in cuts if start_s - 1e-6 <= cut.timestamp_s < end_s]
    starts = [(start_s, None)] if not inside or inside[0].timestamp_s > start_s + 1e-6 else []
    starts += [(cut.timestamp_s, cut.score) for cut in inside]
    ends = [s for s, _ in starts[1:]] + [end_s]
    return [Finding(module=Module.shots, label="shot", score=1.0, timestamp_s=start, end_s=end,
                    attributes={"cut_score": None if score is None else round(score, 1),
                                "continues": score is None and start_s > 0})
            for (start, score), end in zip(starts, ends, strict=True) if end > start]
