"""The containers vidsafe analyses, and the one way a file is opened: FFmpeg may choose only among their demuxers and
read only the local file itself.

FFmpeg detects a file's format by its content, and some formats are lists of other files (an FFmpeg concat list, an
HLS playlist, a DASH manifest, an image sequence): opened as they come, a 60-byte upload naming another team's
video would be analysed as that video. Here a format FFmpeg recognises but vidsafe does not analyse is refused
before anything of it is read beyond its first bytes (FFmpeg checks the allow-list between recognising a format and
opening what it refers to), with ``unsupported_container``; what FFmpeg does not recognise is ``not_a_video``.
"""

from __future__ import annotations

from pathlib import Path

import av
from av.codec.hwaccel import HWAccel

from vidsafe.domain.errors import ErrorCode, MediaError

# The demuxers of the containers vidsafe analyses (FFmpeg's names: "mov" reads MP4 and MOV, "matroska" WebM too).
ANALYSED = {"mov": "MP4/MOV", "matroska": "Matroska/WebM", "avi": "AVI", "mpegts": "MPEG-TS", "flv": "FLV",
            "ogg": "Ogg"}
_OPTIONS = {"format_whitelist": ",".join(ANALYSED), "protocol_whitelist": "file"}
# What a refused file is, by its first bytes: the message says so.
_LISTS_OF_FILES = {b"ffconcat": "a list of other files (FFmpeg concat)", b"#EXTM3U": "an HLS playlist",
                   b"<MPD": "a DASH manifest", b"<?xml": "an XML document (a DASH manifest?)"}
_STILL_IMAGES = (b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"BM", b"II*\x00", b"MM\x00*")
_SNIFF_BYTES = 512


def open_media(path: Path, hwaccel: HWAccel | None = None) -> av.container.InputContainer:
    """``path`` opened for reading; a MediaError for a file in no container vidsafe analyses. With ``hwaccel``, an
    error setting up the GPU's decoder is raised as FFmpeg's (the caller decodes on the CPU instead)."""
    try:
        return av.open(str(path), metadata_errors="ignore", options=_OPTIONS, hwaccel=hwaccel)
    except av.FFmpegError as error:
        if hwaccel is not None and not isinstance(error, av.error.ArgumentError | av.error.InvalidDataError):
            raise
        raise _refused(path, error) from None


def _refused(path: Path, error: av.FFmpegError) -> MediaError:
    """Why the file is not opened: what it refers to, a still image, another format, or no format at all."""
    with path.open("rb") as stream:
        head = stream.read(_SNIFF_BYTES)
    analysed = ", ".join(ANALYSED.values())
    what = next((kind for signature, kind in _LISTS_OF_FILES.items() if head.lstrip().startswith(signature)), None)
    if what is not None:  # recognised or not (HLS goes by its name too), it is refused for what it is
        return MediaError(ErrorCode.unsupported_container, f"the file is {what}: vidsafe analyses the video itself, "
                          f"in {analysed}, never what a file refers to")
    if head.startswith(_STILL_IMAGES) or head[8:12] == b"WEBP":
        return MediaError(ErrorCode.not_a_video, "the file is a still image, not a video")
    if isinstance(error, av.error.ArgumentError):  # FFmpeg recognised the format, and it is not on the list
        return MediaError(ErrorCode.unsupported_container, f"the file is in a container vidsafe does not analyse; "
                          f"it analyses {analysed}")
    return MediaError(ErrorCode.not_a_video, f"not a readable video container ({error.strerror})")
