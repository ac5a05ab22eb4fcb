"""Perceptual hashes: the PDQ of a decoded frame (``pdqhash``, Meta's reference code), and the frames of a video
file hashed as a vPDQ signal holds them (what a list of known videos stores: ``vidsafe hash-lists video``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pdqhash

from vidsafe.hash_lists import HashedFrame
from vidsafe.media.decoding import sample_frames
from vidsafe.media.probe import probe_video
from vidsafe.settings import Settings


def frame_hash(rgb: np.ndarray, timestamp_s: float) -> HashedFrame:
    """PDQ of a decoded frame (RGB, any size: PDQ scales it itself)."""
    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return HashedFrame(np.packbits(bits.astype(np.uint8)).tobytes(), int(quality), timestamp_s)


def video_hashes(path: Path, settings: Settings, fps: float = 1.0) -> list[HashedFrame]:
    """The hashed frames of a video file, ``fps`` of them a second (vPDQ's default is one): what a list of known
    videos holds (``vidsafe hash-lists video``)."""
    media = probe_video(path, settings)
    return [frame_hash(frame.rgb, frame.timestamp_s) for frame in sample_frames(
        path, fps, media.width, media.height, max_frame_pixels=settings.max_frame_pixels,
        max_duration_s=settings.max_duration_s)]
