"""A job's coverage, worked out when it ends: frames expected on the sampling grid and analysed, and the stretches
no frame could be decoded in, over every chunk. A job that analysed less than ``min_coverage`` of its video never
ends as a plain all-clear: it succeeds with the warning ``partial_coverage`` (or fails with that code, by
``low_coverage_fails``); one that decoded no frame at all fails (``unreadable_media``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from vidsafe.db.parts import Decoded
from vidsafe.domain.errors import ErrorCode
from vidsafe.domain.jobs import Coverage, JobWarning, TimeRange
from vidsafe.settings import Settings


def summarise(chunks: list[Decoded], duration_s: float) -> Coverage | None:
    """The job's coverage from its chunks (None: no frame module ran, so no frame was decoded to measure)."""
    if not any(chunk.frames_expected or chunk.frames_analyzed for chunk in chunks):
        return None
    merged: list[list[float]] = []
    for start, end in sorted(r for chunk in chunks for r in chunk.undecodable):
        start, end = max(start, 0.0), min(end, duration_s) if duration_s > 0 else end
        if merged and start <= merged[-1][1] + 1e-6:
            merged[-1][1] = max(merged[-1][1], end)
        elif end > start:
            merged.append([start, end])
    lost_s = sum(end - start for start, end in merged)
    analyzed = sum(chunk.frames_analyzed for chunk in chunks)
    share = max(0.0, 1.0 - lost_s / duration_s) if duration_s > 0 else float(analyzed > 0)
    return Coverage(frames_expected=sum(chunk.frames_expected for chunk in chunks), frames_analyzed=analyzed,
                    share=round(share, 4), undecodable=[TimeRange(start_s=round(s, 3), end_s=round(e, 3))
                                                        for s, e in merged],
                    packets_skipped=sum(chunk.packets_skipped for chunk in chunks))


@dataclass(frozen=True)
class Ending:
    """How a job whose parts are all done ends: its warnings, or the failure its coverage makes it."""

    warnings: list[JobWarning] = field(default_factory=list)
    failure: tuple[ErrorCode, str] | None = None


def ending(coverage: Coverage | None, settings: Settings) -> Ending:
    if coverage is None:
        return Ending()
    if coverage.frames_analyzed == 0:
        return Ending(failure=(ErrorCode.unreadable_media, "no frame of the video could be decoded"))
    if coverage.share >= settings.min_coverage:
        return Ending()
    stretches = ", ".join(f"{r.start_s:.1f}-{r.end_s:.1f} s" for r in coverage.undecodable[:5])
    more = " ..." if len(coverage.undecodable) > 5 else ""
    message = (f"only {coverage.share:.0%} of the video could be decoded and analysed ({coverage.frames_analyzed} of "
               f"{coverage.frames_expected} frames; undecodable: {stretches}{more}); under min_coverage "
               f"{settings.min_coverage:.0%}")
    if settings.low_coverage_fails:
        return Ending(failure=(ErrorCode.partial_coverage, message))
    return Ending(warnings=[JobWarning(code=ErrorCode.partial_coverage, message=message)])
