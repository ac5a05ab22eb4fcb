"""Probe a video file and decide whether it can be analysed.

The gateway calls this on every upload, so bad files are refused with a 4xx before they are queued;
the worker calls it again before decoding, since server-side paths never went through the gateway.
"""

from __future__ import annotations

from pathlib import Path

import av

from vidsafe.domain import ErrorCode, MediaError, MediaInfo
from vidsafe.settings import Settings

# Demuxers that open still images: a picture renamed .mp4 is not a video.
_IMAGE_FORMAT_SUFFIX = "_pipe"
_IMAGE_FORMATS = {"image2", "gif", "webp", "apng"}
# High-speed cameras record up to about 1000 fps; a declared rate above it is a forged timestamp table,
# which would make the sampler walk an absurd number of sample times.
MAX_FPS = 1000.0


def probe_video(path: Path, settings: Settings) -> MediaInfo:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise MediaError(ErrorCode.file_missing, f"the video file is missing: {path.name}") from None
    if size == 0:
        raise MediaError(ErrorCode.empty_file, "the file is empty")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.FFmpegError as error:
        raise MediaError(ErrorCode.not_a_video, f"not a readable video container ({error.strerror})") from None
    with container:
        format_name = container.format.name
        if format_name in _IMAGE_FORMATS or format_name.endswith(_IMAGE_FORMAT_SUFFIX):
            raise MediaError(ErrorCode.not_a_video, f"the file is a still image ({format_name}), not a video")
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
        if stream.duration is not None and stream.time_base is not None:
            duration_s = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration_s = container.duration / av.time_base
        else:
            raise MediaError(ErrorCode.unreadable_media, "the video declares no duration")
        if duration_s > settings.max_duration_s:
            raise MediaError(
                ErrorCode.too_long,
                f"the video lasts {duration_s:.0f} s, over the limit of {settings.max_duration_s:.0f} s",
            )
        rate = stream.average_rate or stream.guessed_rate
        if rate and rate > MAX_FPS:
            raise MediaError(ErrorCode.bad_frame_rate,
                             f"the video declares {float(rate):.0f} frames per second, over {MAX_FPS:.0f}")
        return MediaInfo(
            container=format_name,
            codec=codec_context.name,
            width=width,
            height=height,
            duration_s=max(duration_s, 0.0),
            fps=float(rate) if rate else 0.0,
            size_bytes=size,
            has_audio=bool(container.streams.audio),
        )
