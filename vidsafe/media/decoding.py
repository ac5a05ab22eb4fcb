"""Sampling: decode a chunk of the video once, sequentially, and keep frames at a fixed rate, as a player would
show them: upright (the display matrix's rotation applied) and past any packet the decoder refuses.

Sequential decode with frame threading and non-reference frames skipped is the fastest way to sample
H.264 on a CPU (faster than seeking unless the interval exceeds the GOP); only kept frames are
converted to RGB at full size. Every decoded frame gives a small signature to the cut detector
(``vidsafe/media/cuts.py``): a frame that starts a shot between two grid times is sampled at once, taking the next
grid slot, so every shot has a sampled frame, however short.

With ``VIDSAFE_VIDEO_DECODER=nvdec`` the decoding runs on the GPU's video decoder (FFmpeg's CUDA hwaccel) and the
frames come back to system memory for the same steps; a worker without one decodes on the CPU instead, saying so.

Packets are decoded one at a time, so a corrupt one (before the first keyframe, inside a GOP) is skipped
and decoding resumes at the next frame the decoder can rebuild; what could not be decoded is recorded in the
chunk's ``DecodeReport``, never silently dropped.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np
from av.codec.hwaccel import HWAccel

from vidsafe.domain.errors import ErrorCode, MediaError
from vidsafe.media.containers import open_media
from vidsafe.media.cuts import CutDetector, Signature, signature
from vidsafe.media.probe import rotation_of
from vidsafe.observability import count_decoder_fallback

log = logging.getLogger(__name__)

# Decoding starts this far before a chunk, so the cut detector has a frame to compare the chunk's first with.
LEAD_IN_S = 0.5


@dataclass(frozen=True)
class SampledFrame:
    index: int
    timestamp_s: float
    rgb: np.ndarray  # height x width x 3, uint8, upright
    signature: Signature | None = None
    shot: int = 0  # cuts seen in the chunk up to this frame: frames of one shot share it


@dataclass
class DecodeReport:
    """What decoding a time range found, filled in while its frames are sampled: the stretches with no decodable
    frame (longer than ``tolerance_s``: one sampling step, or a few frames of the video, whichever is longer) and
    the packets the decoder refused."""

    start_s: float
    frame_interval_s: float  # of the video itself (0: unknown)
    tolerance_s: float
    packets_skipped: int = 0
    undecodable: list[tuple[float, float]] = field(default_factory=list)
    _covered_to: float | None = None  # where the last decoded frame's display ends

    def decoded(self, timestamp_s: float) -> None:
        self._gap_to(timestamp_s)
        self._covered_to = max(self._covered_to or 0.0, timestamp_s + self.frame_interval_s)

    def finish(self, end_s: float) -> None:
        """The range ends at ``end_s``: a stretch from the last decoded frame to there is undecodable too."""
        self._gap_to(end_s)

    def _gap_to(self, timestamp_s: float) -> None:
        since = self.start_s if self._covered_to is None else self._covered_to
        if timestamp_s - since > self.tolerance_s:
            self.undecodable.append((since, timestamp_s))


def decode_report(start_s: float, sample_fps: float, video_fps: float) -> DecodeReport:
    interval = 1.0 / video_fps if video_fps > 0 else 0.0
    # Five frames: skipped non-reference frames (B-frames) leave gaps of up to about four.
    return DecodeReport(start_s, interval, max(1.0 / sample_fps, 5 * interval))


def open_video(path: Path, decoder: str = "cpu") -> av.container.InputContainer:
    """The video, to be decoded on the GPU's NVDEC when ``decoder`` is "nvdec" and the worker has one, else on the
    CPU (the fallback logged and counted: decoding is slower, nothing is analysed less)."""
    if decoder == "nvdec":
        try:
            return open_media(path, hwaccel=HWAccel(device_type="cuda", allow_software_fallback=True))
        except OSError as error:  # no CUDA device or driver: FFmpeg cannot create the decoder's context
            log.warning("NVDEC is unavailable (%s): decoding %s on the CPU", error, path.name)
            count_decoder_fallback()
    return open_media(path)


def sample_frames(path: Path, fps: float, width: int, height: int, *, start_s: float = 0.0, end_s: float | None = None,
                  max_frame_pixels: int | None = None, max_duration_s: float | None = None,
                  report: DecodeReport | None = None, cuts: CutDetector | None = None,
                  decoder: str = "cpu") -> Iterator[SampledFrame]:
    """Yield frames every 1/fps seconds from ``start_s`` until ``end_s``, all converted to ``width`` x ``height``
    (the displayed size) RGB, upright. A frame's index is its slot on the 1/fps grid of the whole video, so
    chunks decoded apart number their frames as one pass would; after an undecodable stretch, the next frame
    takes the slot of its own time. Timestamps run from the stream's first frame.

    Every frame gets the probed size, so a stream that changes resolution midway still batches. The probe
    only saw the file's start, so the limits are enforced again on what is decoded: a frame over
    ``max_frame_pixels`` (a resolution change to a huge size) or past ``max_duration_s`` (frames beyond a
    forged short duration) ends the decode with a MediaError, which bounds its memory and time. ``report``, if
    given, records what could not be decoded; ``cuts``, if given, sees every decoded frame (from a little before
    ``start_s``) and the frames carry their signature and shot. ``decoder``: see ``open_video``.
    """
    step = 1.0 / fps
    report = report or DecodeReport(start_s, 0.0, step)
    next_time = math.ceil(start_s * fps - 1e-6) * step
    shot = 0
    with open_video(path, decoder) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        stream.codec_context.skip_frame = "NONREF"
        start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        try:
            lead_in = LEAD_IN_S if cuts is not None else 0.0
            if next_time - lead_in > 0 and stream.time_base:
                # To the keyframe at or before the chunk's lead-in; the frames before the chunk are skipped below.
                container.seek(int((start + next_time - lead_in) / stream.time_base), stream=stream,
                               backward=True)
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except av.FFmpegError:
                    report.packets_skipped += 1
                    continue
                for frame in frames:
                    if frame.time is None:
                        continue
                    if max_frame_pixels is not None and frame.width * frame.height > max_frame_pixels:
                        raise MediaError(ErrorCode.frame_too_large, f"a frame of {frame.width}x{frame.height} at "
                                         f"{frame.time:.1f} s exceeds the limit of {max_frame_pixels} pixels")
                    timestamp = frame.time - start
                    if max_duration_s is not None and timestamp > max_duration_s:
                        raise MediaError(ErrorCode.too_long, f"frames go on past {max_duration_s:.0f} s, the limit")
                    if end_s is not None and timestamp + 1e-6 >= end_s:
                        return
                    sig = signature(frame) if cuts is not None else None
                    cut = cuts.feed(timestamp, sig) if cuts is not None and sig is not None else None
                    if timestamp + 1e-6 < start_s:
                        continue
                    report.decoded(timestamp)
                    shot += cut is not None
                    if timestamp + 1e-6 < next_time and cut is None:
                        continue
                    index = max(round(next_time * fps), math.floor((timestamp + 1e-6) * fps))
                    yield SampledFrame(index=index, timestamp_s=max(timestamp, 0.0),
                                       rgb=_upright(frame, width, height), signature=sig, shot=shot)
                    # The next sample time after this frame, computed rather than stepped to: a timestamp that
                    # jumps hours ahead must not cost a loop iteration per skipped step.
                    next_time = max(next_time + step, (math.floor((timestamp + 1e-6) / step) + 1) * step)
        except av.FFmpegError:
            # The container itself cannot be read on (not one packet, the demuxer): the rest of the range is
            # undecodable, which the report shows once the caller finishes it.
            return


def _upright(frame: av.VideoFrame, width: int, height: int) -> np.ndarray:
    """The frame as ``width`` x ``height`` RGB, turned as its display matrix says."""
    turns = rotation_of(frame) // 90
    if turns % 2:
        return np.ascontiguousarray(np.rot90(frame.to_ndarray(width=height, height=width, format="rgb24"), turns))
    rgb = frame.to_ndarray(width=width, height=height, format="rgb24")
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb
