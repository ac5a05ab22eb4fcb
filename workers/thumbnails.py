"""Keyframe thumbnails: a small JPEG of every sampled frame that has a finding, written while the frame is in
memory, so a page of a job's thumbnails costs no decoding. Boxes are not drawn in: they are the findings' own
coordinates (frame pixels), drawn by whoever shows the thumbnail, scaled by its size over the frame's."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from uuid import UUID

import cv2

from vidsafe.domain.findings import Finding
from vidsafe.media.decoding import SampledFrame
from vidsafe.settings import Settings

JPEG_QUALITY = 80


def save_thumbnails(settings: Settings, job_id: UUID, frames: Iterable[SampledFrame],
                    findings: Iterable[Finding], also: Iterable[int] = ()) -> int:
    """A thumbnail of each of ``frames`` that one of ``findings`` is on, or whose index is in ``also``; how many
    were written."""
    wanted = {f.frame_index for f in findings if f.frame_index is not None and not f.is_index_entry} | set(also)
    written = 0
    for frame in frames:
        if frame.index not in wanted:
            continue
        height, width = frame.rgb.shape[:2]
        scale = min(1.0, settings.thumbnail_max_side / max(height, width))
        image = cv2.resize(frame.rgb, (max(1, round(width * scale)), max(1, round(height * scale))),
                           interpolation=cv2.INTER_AREA) if scale < 1 else frame.rgb
        ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
                                [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            continue
        path = settings.thumbnail_path(job_id, frame.index)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(jpeg.tobytes())
        written += 1
    return written


def remove_thumbnails(settings: Settings, job_id: UUID) -> None:
    shutil.rmtree(settings.thumbnails_dir / str(job_id), ignore_errors=True)
