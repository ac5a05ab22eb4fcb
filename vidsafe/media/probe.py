"""Probe a video file and decide whether it can be analysed.

The gateway calls this on every upload, so bad files are refused with a 4xx before they are queued;
the worker calls it again before decoding, since server-side paths never went through the gateway. Only the
containers vidsafe analyses are opened (``vidsafe/media/containers.py``).

What is measured is what a player plays: the duration runs from the first frame (a stream may start at any
timestamp) and is always measured by reading the packets' timestamps (without decoding: about 0.2 s for 20
minutes at 30 fps), so a header that declares less than the file holds (a Matroska duration patched to 1 s on a
20-minute file) neither beats a team's quota nor the length limit. The declared duration counts only where it
says more (a truncated file: the missing end is reported), and not at all where it is a guess (MPEG-TS, whose
declared duration is a bitrate estimate) or absent (a WebM written to a pipe, as browser recorders do). The size
is the displayed one, after the rotation of the display matrix. The decoders stop a margin past the duration
found here (``decode_end_s``), whatever the file holds beyond it.
"""

from __future__ import annotations

from pathlib import Path

import av

from vidsafe.domain.errors import ErrorCode, MediaError
from vidsafe.domain.jobs import MediaInfo
from vidsafe.media.containers import open_media
from vidsafe.settings import Settings

# High-speed cameras record up to about 1000 fps; a declared rate above it is a forged timestamp table,
# which would make the sampler walk an absurd number of sample times.
MAX_FPS = 1000.0
# Containers whose declared duration is a guess: only the scan of their packets counts.
_ESTIMATED_DURATION_FORMATS = {"mpegts"}
# The rotation is read from the first decoded frame; a file with no decodable frame this early is analysed
# unrotated until frames say otherwise.
_ROTATION_PACKETS = 300


def rotation_of(frame: av.VideoFrame) -> int:
    """The display matrix's rotation, counterclockwise, as a multiple of 90 degrees in 0..270."""
    return round(frame.rotation / 90) % 4 * 90


def _rotation(path: Path) -> int:
    try:
        with open_media(path) as container:
            stream = container.streams.video[0]
            for count, packet in enumerate(container.demux(stream)):
                if count >= _ROTATION_PACKETS:
                    break
                try:
                    for frame in packet.decode():
                        return rotation_of(frame)
                except av.FFmpegError:
                    continue
    except av.FFmpegError:
        pass
    return 0


def decode_end_s(media: MediaInfo) -> float:
    """Where decoding stops: the probed duration and a margin (a second, or 1 % of a long video) for timestamps
    that round or drift; what a file holds past it is neither analysed nor charged."""
    return media.duration_s + max(1.0, 0.01 * media.duration_s)


def _scanned_duration(path: Path, limit_s: float) -> float | None:
    """From the first packet's timestamp to the end of the last one's, read without decoding (None: no packet has
    a timestamp); too_long as soon as it passes ``limit_s``. A demuxing error ends the scan where it happened."""
    first = last = None
    with open_media(path) as container:
        stream = container.streams.video[0]
        time_base = stream.time_base
        try:
            for packet in container.demux(stream):
                if packet.pts is None or time_base is None:
                    continue
                end = packet.pts + (packet.duration or 0)
                first = packet.pts if first is None else min(first, packet.pts)
                last = end if last is None else max(last, end)
                if float((last - first) * time_base) > limit_s:
                    raise MediaError(ErrorCode.too_long, f"the video goes on past {limit_s:.0f} s, the limit")
        except av.FFmpegError:
            pass
    if first is None or last is None or time_base is None:
        return None
    return float((last - first) * time_base)


def probe_video(path: Path, settings: Settings) -> MediaInfo:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise MediaError(ErrorCode.file_missing, f"the video file is missing: {path.name}") from None
    if size == 0:
        raise MediaError(ErrorCode.empty_file, "the file is empty")
    with open_media(path) as container:
        format_name = container.format.name
        if not container.streams.video:
            raise MediaError(ErrorCode.no_video_stream, f"the {format_name} file has no video stream")
        stream = container.streams.video[0]
        # PyAV gives no codec context when FFmpeg has no decoder for the stream (an unknown fourcc).
        codec_context = stream.codec_context
        if codec_context is None:
            raise MediaError(ErrorCode.unsupported_codec,
                             f"the video stream of this {format_name} file uses a codec that cannot be decoded")
        # An index that declares more frames than the file has bytes is forged (every frame takes at least
        # one byte); refused before anything walks it. Containers that do not count frames say 0.
        if stream.frames > size:
            raise MediaError(ErrorCode.too_many_frames,
                             f"the {format_name} index declares {stream.frames} frames in a file of {size} bytes")
        width, height = codec_context.width, codec_context.height
        if width <= 0 or height <= 0:
            raise MediaError(ErrorCode.unreadable_media, "the video stream declares no frame size")
        if width * height > settings.max_frame_pixels:
            raise MediaError(
                ErrorCode.frame_too_large,
                f"frames of {width}x{height} exceed the limit of {settings.max_frame_pixels} pixels",
            )
        # A stream's own duration runs from its first frame; a container's runs from time 0, so where the
        # stream starts comes off it. A truncated file keeps what it declared: the missing end is reported.
        declared = (float(stream.duration * stream.time_base) if stream.duration is not None and stream.time_base
                    else (container.duration - (container.start_time or 0)) / av.time_base
                    if container.duration is not None else None)
        if format_name in _ESTIMATED_DURATION_FORMATS:
            declared = None
        if declared is not None and declared > settings.max_duration_s:
            raise MediaError(ErrorCode.too_long,
                             f"the video lasts {declared:.0f} s, over the limit of {settings.max_duration_s:.0f} s")
        measured = _scanned_duration(path, settings.max_duration_s)
        if measured is None and declared is None:
            raise MediaError(ErrorCode.unreadable_media, "the video stream has no timestamped packets")
        scanned = declared is None or (measured is not None and measured > declared)
        duration_s = measured if scanned else declared
        rate = stream.average_rate or stream.guessed_rate
        if stream.frames and rate:
            # A header's frame count (AVI's) outlasts a duration FFmpeg measured on a file cut short.
            duration_s = max(duration_s, float(stream.frames / rate))
        if duration_s > settings.max_duration_s:
            raise MediaError(
                ErrorCode.too_long,
                f"the video lasts {duration_s:.0f} s, over the limit of {settings.max_duration_s:.0f} s",
            )
        if rate and rate > MAX_FPS:
            raise MediaError(ErrorCode.bad_frame_rate,
                             f"the video declares {float(rate):.0f} frames per second, over {MAX_FPS:.0f}")
        rotation = _rotation(path)
        if rotation in (90, 270):
            width, height = height, width
        return MediaInfo(
            container=format_name,
            codec=codec_context.name,
            width=width,
            height=height,
            rotation=rotation,
            duration_s=max(duration_s, 0.0),
            duration_scanned=scanned,
            fps=float(rate) if rate else 0.0,
            size_bytes=size,
            has_audio=bool(container.streams.audio),
        )
