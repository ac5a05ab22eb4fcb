"""A corpus of hostile and broken inputs, generated (never downloaded) with PyAV, numpy and zipfile.

Each case is one small function that writes its file into a folder and returns the path to upload,
plus the outcome the service must reach: a refused upload (HTTP status and error code), a failed job
(error code), or a job that succeeds because the odd file is in fact analysable. Files are tiny and
deterministic (seeded noise), so the whole corpus builds in a few seconds.

Most cases start from a small valid video and break one thing: an atom, a header field, a range of
bytes. The MP4 edits walk the ISO-BMFF box tree (``_boxes``) rather than searching for byte strings, so
they hit the box they mean to.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

SIZE = (64, 48)  # width, height of the generated videos: small, so encoding and decoding take no time
FPS = 10


@dataclass(frozen=True)
class Outcome:
    """What the service must answer: ``status`` is the upload's HTTP status; a 201 ends in a job whose
    ``job_status`` is ``failed`` (with ``code`` as its error_code) or ``succeeded`` (``code`` is None, or the code
    of its one warning: it analysed less than was asked)."""

    status: int
    code: str | None
    job_status: str | None = None

    @classmethod
    def refused(cls, status: int, code: str) -> Outcome:
        return cls(status, code)

    @classmethod
    def failed(cls, code: str) -> Outcome:
        return cls(201, code, "failed")

    @classmethod
    def succeeded(cls) -> Outcome:
        return cls(201, None, "succeeded")

    @classmethod
    def warned(cls, code: str) -> Outcome:
        return cls(201, code, "succeeded")


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[Path], Path]
    outcome: Outcome
    upload_name: str | None = None  # the client file name, when it is itself the hostile part
    why: str = ""


# ---- building blocks -------------------------------------------------------------------------------

def _noise_frames(count: int, size: tuple[int, int] = SIZE, seed: int = 0) -> Iterator[np.ndarray]:
    """Moving gradients plus seeded noise: cheap to encode, but every frame differs (P-frames carry data)."""
    rng = np.random.default_rng(seed)
    width, height = size
    ys, xs = np.mgrid[0:height, 0:width]
    for i in range(count):
        frame = np.stack([(xs * 4 + i * 8) % 256, (ys * 4 + i * 5) % 256, (xs + ys + i * 3) % 256], axis=-1)
        frame = frame.astype(np.int16) + rng.integers(-12, 12, frame.shape, dtype=np.int16)
        yield np.clip(frame, 0, 255).astype(np.uint8)


class _Pipe(io.RawIOBase):
    """A sink that cannot seek, as a pipe or a browser's MediaRecorder: a muxer cannot go back to write the
    duration (or the index) once the frames are out."""

    def __init__(self) -> None:
        super().__init__()
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, chunk: bytes) -> int:  # type: ignore[override]
        self.data += chunk
        return len(chunk)


def encode(path: Path, *, seconds: float = 2.0, fps: int = FPS, size: tuple[int, int] = SIZE,
           codec: str = "libx264", container: str | None = None, pix_fmt: str = "yuv420p",
           options: dict[str, str] | None = None, container_options: dict[str, str] | None = None,
           frames: Iterable[np.ndarray] | None = None, start_s: float = 0.0, rotation: int = 0,
           piped: bool = False) -> Path:
    """A small valid video: ``seconds`` of moving noise (or ``frames``) at ``fps``, its first frame stamped
    ``start_s``, with a display matrix turning it ``rotation`` degrees counterclockwise, written to a file or,
    ``piped``, through a sink that cannot seek."""
    sink = _Pipe() if piped else None
    with av.open(sink if sink is not None else str(path), "w", format=container,
                 options=container_options or {}) as out:
        stream = out.add_stream(codec, rate=fps, options=options or {})
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], pix_fmt
        if rotation:
            stream.set_display_rotation(rotation)
        first = round(start_s * fps)
        for index, array in enumerate(frames if frames is not None else _noise_frames(round(seconds * fps), size)):
            frame = av.VideoFrame.from_ndarray(array, format="rgb24")
            frame.pts, frame.time_base = first + index, Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    if sink is not None:
        path.write_bytes(bytes(sink.data))
    return path


def _x264(gop: int = 10) -> dict[str, str]:
    # Fixed GOP and no scene-cut keyframes, so "which packets are keyframes" is known exactly.
    return {"preset": "ultrafast", "g": str(gop), "sc_threshold": "0", "x264-params": "scenecut=0"}


def valid_mp4(path: Path, seconds: float = 2.0, faststart: bool = False) -> Path:
    """A small valid H.264 MP4 (moov at the end, as most muxers write it, or at the front)."""
    return encode(path, seconds=seconds, options=_x264(),
                  container_options={"movflags": "faststart"} if faststart else None)


def _boxes(data: bytes | bytearray, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """(type, offset, size) of the ISO-BMFF boxes laid end to end in ``data[start:end]``."""
    end = len(data) if end is None else end
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8:offset + 16])[0]
        elif size == 0:
            size = end - offset
        if size < 8:
            return
        yield kind, offset, size
        offset += size


_CONTAINER_BOXES = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf"}
_FULL_BOX_CHILDREN = {b"stsd": 8}  # stsd: version/flags and an entry count precede its children


def find_box(data: bytes | bytearray, path: str) -> tuple[int, int]:
    """(offset, size) of the first box at a slash-separated ``path``, e.g. ``moov/trak/mdia/mdhd``."""
    start, end = 0, len(data)
    found = (0, 0)
    for part in path.split("/"):
        for kind, offset, size in _boxes(data, start, end):
            if kind == part.encode():
                found = (offset, size)
                header = 8 + _FULL_BOX_CHILDREN.get(kind, 0)
                start, end = offset + header, offset + size
                break
        else:
            raise KeyError(f"no box {part} in {path}")
    return found


# ---- the cases ---------------------------------------------------------------------------------------
# Each writes one file under ``folder`` and returns it. The docstring says what it is and why it is hostile.

def empty(folder: Path) -> Path:
    """Zero bytes."""
    return _write(folder / "empty.mp4", b"")


def random_bytes(folder: Path) -> Path:
    """200 kB of seeded noise named .mp4: no container signature at all."""
    return _write(folder / "random.mp4", np.random.default_rng(1).bytes(200_000))


def text_as_video(folder: Path) -> Path:
    """A text file, uploaded as video/mp4 (the MIME type a client sends proves nothing)."""
    return _write(folder / "notes.mp4", b"meeting notes, definitely a video\n" * 50)


def png_renamed(folder: Path) -> Path:
    """A still PNG image renamed .mp4."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="image2pipe") as out:
        stream = out.add_stream("png", rate=1)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "rgb24"
        out.mux(stream.encode(av.VideoFrame.from_ndarray(next(_noise_frames(1, (320, 240))), format="rgb24")))
    return _write(folder / "photo.mp4", buffer.getvalue())


def animated_gif(folder: Path) -> Path:
    """An animated GIF renamed .mp4: an image format, refused like any picture."""
    return encode(folder / "anim.mp4", seconds=1, codec="gif", container="gif", pix_fmt="rgb8")


def apng(folder: Path) -> Path:
    """An animated PNG renamed .mp4."""
    return encode(folder / "anim-png.mp4", seconds=1, codec="apng", container="apng", pix_fmt="rgb24")


def zip_bomb(folder: Path) -> Path:
    """A zip archive of 256 MiB of zeros (about 250 kB compressed) renamed .mp4: it must never be inflated."""
    path = folder / "bomb.mp4"
    chunk = bytes(1024 * 1024)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive, \
            archive.open("video.mp4", "w", force_zip64=True) as member:
        for _ in range(256):
            member.write(chunk)
    return path


def audio_only(folder: Path) -> Path:
    """An MP4 with one AAC track and no video."""
    path = folder / "audio.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=16000)
        stream.layout = "mono"
        t = np.arange(16000 * 2) / 16000
        samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for start in range(0, len(samples), 1024):
            frame = av.AudioFrame.from_ndarray(samples[None, start:start + 1024], format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, start
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def _write(path: Path, data: bytes | bytearray) -> Path:
    path.write_bytes(bytes(data))
    return path


def truncated_moov_at_end(folder: Path) -> Path:
    """The first half of an MP4 whose moov comes last (the usual layout): no index, so nothing to read."""
    data = valid_mp4(folder / "whole.mp4").read_bytes()
    return _write(folder / "cut-moov-last.mp4", data[: len(data) // 2])


def truncated_faststart(folder: Path) -> Path:
    """The first 40 % of a faststart MP4 (moov first): the index promises 6 s, the data stop at about 2 s."""
    data = valid_mp4(folder / "whole.mp4", seconds=6, faststart=True).read_bytes()
    return _write(folder / "cut-faststart.mp4", data[: len(data) * 2 // 5])


def moov_missing(folder: Path) -> Path:
    """A complete MP4 with its moov box cut out: every frame is there, but no track is declared.

    (Renaming moov to ``free`` is not enough: FFmpeg looks inside free boxes for a lost moov.)"""
    data = valid_mp4(folder / "whole.mp4").read_bytes()
    offset, size = find_box(data, "moov")
    return _write(folder / "no-moov.mp4", data[:offset] + data[offset + size:])


def unsupported_codec(folder: Path) -> Path:
    """An MP4 whose video sample entry says ``zzzz`` instead of ``avc1``: a codec nobody decodes."""
    data = bytearray(valid_mp4(folder / "whole.mp4").read_bytes())
    offset, _ = find_box(data, "moov/trak/mdia/minf/stbl/stsd/avc1")
    data[offset + 4:offset + 8] = b"zzzz"
    return _write(folder / "codec-zzzz.mp4", data)


def _remux(source: Path, target: Path, keep: Callable[[av.Packet], bool] = lambda _: True,
           retime: Callable[[av.Packet], None] | None = None, container: str | None = None) -> Path:
    """Copy ``source``'s video packets into ``target`` without re-encoding, dropping those ``keep`` refuses
    and rewriting timestamps with ``retime``: how broken timing and missing frames are made."""
    with av.open(str(source)) as src, av.open(str(target), "w", format=container) as out:
        in_stream = src.streams.video[0]
        stream = out.add_stream_from_template(in_stream)
        out.start_encoding()  # write the header even when no packet is kept
        for packet in src.demux(in_stream):
            if packet.dts is None or not keep(packet):
                continue
            if retime is not None:
                retime(packet)
            packet.stream = stream
            out.mux(packet)
    return target


def no_frames(folder: Path) -> Path:
    """An MP4 that declares an H.264 video track with no samples at all."""
    return _remux(valid_mp4(folder / "whole.mp4"), folder / "no-frames.mp4", keep=lambda _: False)


def zero_duration(folder: Path) -> Path:
    """A one-frame MP4 whose movie, track, media and sample durations are all patched to 0: odd, but the
    one frame is there and analysable."""
    data = bytearray(encode(folder / "one.mp4", seconds=1 / FPS, options=_x264()).read_bytes())
    # Byte offsets of the (version 0) duration fields inside each box, counted from the box's start. The
    # edit list is left alone: an empty edit would mark the sample as outside the presentation.
    for path, at in (("moov/mvhd", 24), ("moov/trak/tkhd", 28), ("moov/trak/mdia/mdhd", 24),
                     ("moov/trak/mdia/minf/stbl/stts", 20)):
        struct.pack_into(">I", data, find_box(data, path)[0] + at, 0)
    return _write(folder / "zero.mp4", data)


def no_keyframes(folder: Path) -> Path:
    """An H.264 MP4 with every keyframe removed: only P-frames whose references never arrive."""
    return _remux(valid_mp4(folder / "whole.mp4"), folder / "no-keyframes.mp4", keep=lambda p: not p.is_keyframe)


def absurd_frame_rate(folder: Path) -> Path:
    """20 frames stamped one microsecond apart: a declared frame rate of a million per second."""
    source = valid_mp4(folder / "whole.mp4")
    target = folder / "fast.mp4"
    with av.open(str(source)) as src, av.open(str(target), "w") as out:
        in_stream = src.streams.video[0]
        stream = out.add_stream_from_template(in_stream)
        stream.time_base = Fraction(1, 1_000_000)
        for index, packet in enumerate(p for p in src.demux(in_stream) if p.dts is not None):
            packet.pts = packet.dts = index
            packet.duration = 1
            packet.time_base = stream.time_base
            packet.stream = stream
            out.mux(packet)
    return target


def huge_dimensions_y4m(folder: Path) -> Path:
    """A YUV4MPEG2 header declaring 60000x60000 frames (5.4 GB each), then a few bytes."""
    return _write(folder / "huge.mp4", b"YUV4MPEG2 W60000 H60000 F25:1 Ip A1:1 C420jpeg\nFRAME\n" + bytes(4096))


def concat_list(folder: Path) -> Path:
    """An FFmpeg concat list naming a video beside it: once, an upload named another team's video so."""
    return _write(folder / "list.mp4", b"ffconcat version 1.0\nfile 3f2a9d8e-0b1c-4d5e-8f90-a1b2c3d4e5f6\n")


def hls_playlist(folder: Path) -> Path:
    """An HLS playlist of one segment, a file beside it."""
    return _write(folder / "playlist.mp4", b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nsegment.ts\n"
                  b"#EXT-X-ENDLIST\n")


def dash_manifest(folder: Path) -> Path:
    """A DASH manifest whose one representation is a file beside it."""
    return _write(folder / "manifest.mp4", b'<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" '
                  b'type="static"><Period><AdaptationSet><Representation id="1" bandwidth="1">'
                  b"<BaseURL>video.mp4</BaseURL></Representation></AdaptationSet></Period></MPD>\n")


def huge_dimensions_avi(folder: Path) -> Path:
    """A raw-video AVI whose headers (avih, and the stream's BITMAPINFOHEADER) declare 5000x5000 frames.

    Raw video, because its frame size comes from the header alone (MJPEG's would be read from the frames)."""
    data = bytearray(encode(folder / "whole.avi", seconds=1, codec="rawvideo", pix_fmt="yuv420p").read_bytes())
    strf = data.index(b"strf")  # tag, size, then BITMAPINFOHEADER: biSize, biWidth, biHeight
    struct.pack_into("<ii", data, strf + 12, 5000, 5000)
    avih = data.index(b"avih")  # tag, size, then MainAVIHeader, whose 9th and 10th fields are width, height
    struct.pack_into("<II", data, avih + 8 + 32, 5000, 5000)
    return _write(folder / "huge-avi.mp4", data)


def corrupted_mid_stream(folder: Path) -> Path:
    """A faststart MP4 whose middle third of the media data is noise: the index is intact, the frames are not."""
    data = valid_mp4(folder / "whole.mp4", seconds=4, faststart=True).read_bytes()
    mdat, size = find_box(data, "mdat")
    out = bytearray(data)
    lo, hi = mdat + 8 + (size - 8) // 3, mdat + 8 + 2 * (size - 8) // 3
    out[lo:hi] = np.random.default_rng(2).bytes(hi - lo)
    return _write(folder / "corrupt-middle.mp4", out)


def mkv_truncated(folder: Path) -> Path:
    """The first third of a Matroska file: its header promises 6 s, the clusters stop early."""
    data = encode(folder / "whole.mkv", seconds=6, options=_x264()).read_bytes()
    return _write(folder / "cut.mp4", data[: len(data) // 3])


def webm_garbled_header(folder: Path) -> Path:
    """A VP8 WebM whose bytes after the EBML header (segment info, tracks) are noise."""
    data = encode(folder / "whole.webm", seconds=2, codec="libvpx").read_bytes()
    return _write(folder / "garbled.webm", data[:40] + np.random.default_rng(3).bytes(400) + data[440:])


def avi_truncated(folder: Path) -> Path:
    """The first half of an MJPEG AVI: its header declares every frame, the index (idx1) at the end is gone."""
    data = encode(folder / "whole.avi", seconds=6, codec="mjpeg", pix_fmt="yuvj420p").read_bytes()
    return _write(folder / "cut-avi.mp4", data[: len(data) // 2])


def _full_box(kind: bytes, payload: bytes) -> bytes:
    """An ISO-BMFF full box (version 0, no flags) around ``payload``."""
    return struct.pack(">I4sI", 12 + len(payload), kind, 0) + payload


def _replace_box(data: bytes, path: str, new: bytes) -> bytes:
    """``data`` with the box at ``path`` replaced by ``new``, every enclosing box's size adjusted.
    Only for files whose moov comes after mdat, so no chunk offset moves."""
    offset, size = find_box(data, path)
    out = bytearray(data[:offset] + new + data[offset + size:])
    parts = path.split("/")
    for depth in range(len(parts) - 1, 0, -1):
        parent, parent_size = find_box(out, "/".join(parts[:depth]))
        struct.pack_into(">I", out, parent, parent_size + len(new) - size)
    return bytes(out)


def millions_of_samples(folder: Path) -> Path:
    """An MP4 whose sample table declares 2,000,000 one-byte frames in a file of a few kB.

    Constant-size tables (one stts run, one stsc entry, a fixed stsz size, one chunk) make the declaration
    cost 60 bytes, while a demuxer that believes it builds an index of millions of entries."""
    count = 2_000_000
    data = valid_mp4(folder / "whole.mp4").read_bytes()
    stbl = "moov/trak/mdia/minf/stbl"
    stsd_at, stsd_size = find_box(data, f"{stbl}/stsd")
    stco_at, _ = find_box(data, f"{stbl}/stco")
    first_chunk = struct.unpack(">I", data[stco_at + 16:stco_at + 20])[0]
    children = (data[stsd_at:stsd_at + stsd_size]
                + _full_box(b"stts", struct.pack(">III", 1, count, 1))
                + _full_box(b"stsc", struct.pack(">IIII", 1, 1, count, 1))
                + _full_box(b"stsz", struct.pack(">II", 1, count))
                + _full_box(b"stco", struct.pack(">II", 1, first_chunk)))
    return _write(folder / "millions.mp4", _replace_box(data, stbl, struct.pack(">I4s", 8 + len(children), b"stbl")
                                                        + children))


def _ts_with_sizes(path: Path, parts: list[tuple[tuple[int, int], int]]) -> Path:
    """An H.264 MPEG-TS made of ``parts`` (frame size, frame count), each encoded by its own encoder: the
    stream changes resolution at every part (in-band SPS, as broadcasts and screen recordings do)."""
    with av.open(str(path), "w", format="mpegts") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height = parts[0][0]
        first = 0
        for part, (size, count) in enumerate(parts):
            encoder = av.CodecContext.create("libx264", "w")
            encoder.width, encoder.height, encoder.pix_fmt = size[0], size[1], "yuv420p"
            encoder.time_base, encoder.framerate = Fraction(1, FPS), Fraction(FPS)
            encoder.options = _x264()
            for i, array in enumerate(_noise_frames(count, size, seed=part)):
                frame = av.VideoFrame.from_ndarray(array, format="rgb24")
                frame.pts, frame.time_base = first + i, Fraction(1, FPS)
                for packet in encoder.encode(frame):
                    packet.stream = stream
                    out.mux(packet)
            for packet in encoder.encode(None):
                packet.stream = stream
                out.mux(packet)
            first += count
    return path


def resolution_change(folder: Path) -> Path:
    """An H.264 stream at 64x48, then 128x96, then 48x64: valid, and analysable (frames are scaled to the
    probed size)."""
    return _ts_with_sizes(folder / "resize.mp4", [(SIZE, 10), ((128, 96), 10), ((48, 64), 10)])


def resolution_grows_past_limit(folder: Path) -> Path:
    """An H.264 stream that is 64x48 for 8 s (all the probe reads), then one 4096x2400 frame, over the
    9.4 Mpixel default limit: only the decoder meets it, and must refuse it."""
    return _ts_with_sizes(folder / "grow.mp4", [(SIZE, 80), ((4096, 2400), 1)])


def absurd_duration(folder: Path) -> Path:
    """A 2 s MP4 whose every timing table agrees that each frame lasts 2^24 ticks (27 minutes at
    10240 Hz): 20 frames declared to last 9 hours, over the 4 h limit."""
    data = bytearray(valid_mp4(folder / "whole.mp4").read_bytes())
    delta = 1 << 24
    stts, _ = find_box(data, "moov/trak/mdia/minf/stbl/stts")
    frames = 0
    for entry in range(struct.unpack(">I", data[stts + 12:stts + 16])[0]):  # each: sample count, sample delta
        frames += struct.unpack(">I", data[stts + 16 + entry * 8:stts + 20 + entry * 8])[0]
        struct.pack_into(">I", data, stts + 16 + entry * 8 + 4, delta)
    # Version-0 fields, as offsets from each box's start: timescales at 20, durations at 24 (tkhd: 28).
    movie_scale = struct.unpack(">I", data[find_box(data, "moov/mvhd")[0] + 20:][:4])[0]
    media_scale = struct.unpack(">I", data[find_box(data, "moov/trak/mdia/mdhd")[0] + 20:][:4])[0]
    media_ticks = frames * delta
    movie_ticks = media_ticks * movie_scale // media_scale
    for path, at, ticks in (("moov/mvhd", 24, movie_ticks), ("moov/trak/tkhd", 28, movie_ticks),
                            ("moov/trak/mdia/mdhd", 24, media_ticks), ("moov/trak/edts/elst", 16, movie_ticks)):
        struct.pack_into(">I", data, find_box(data, path)[0] + at, ticks)
    return _write(folder / "forever.mp4", data)


FORGED_SECONDS = 20  # what a forged-short file really holds


def forged_short_duration(folder: Path) -> Path:
    """A 20 s Matroska file whose Segment duration (and its track's DURATION tag) is patched to 1 s: a header that
    once was charged, and analysed, as 1 s while every frame of the 20 was decoded."""
    data = bytearray(encode(folder / "whole.mkv", seconds=FORGED_SECONDS, container="matroska",
                            options=_x264()).read_bytes())
    at = data.find(b"\x44\x89\x88")  # Duration: its EBML ID, then an 8-byte float in the timecode scale (ms)
    struct.pack_into(">d", data, at + 3, 1000.0)
    data = data.replace(f"00:00:{FORGED_SECONDS}.000000000".encode(), b"00:00:01.000000000")
    return _write(folder / "forged-short.mkv", data)


def only_b_frames(folder: Path) -> Path:
    """An H.264 MP4 keeping only its B-frames (non-reference, so no frame ever refers to them), whose
    I- and P-frame references are gone: nothing in it can be decoded."""
    source = encode(folder / "whole.mp4", seconds=3, options={**_x264(30), "bf": "2",
                                                                "x264-params": "scenecut=0:b-adapt=0:b-pyramid=none"})
    latest = -1

    def is_b_frame(packet: av.Packet) -> bool:
        # In decode order, a B-frame is shown before a frame already decoded: its pts is below the latest.
        nonlocal latest
        shown_earlier = packet.pts is not None and packet.pts < latest
        latest = max(latest, packet.pts or 0)
        return shown_earlier

    return _remux(source, folder / "b-only.mp4", keep=is_b_frame)


# ---- files a player plays: analysed, and what could not be is reported ------------------------------

PLAYABLE_SECONDS = 6  # 60 frames at 10 fps, a keyframe every 10: GOPs of one second


def corrupt_packets(folder: Path, name: str, packets: Iterable[int]) -> Path:
    """A 6 s H.264 MP4 whose ``packets`` (in decode order) have their payload replaced by seeded noise, the
    container intact: a player skips what it cannot decode and plays on from the next decodable frame."""
    source = valid_mp4(folder / "whole.mp4", seconds=PLAYABLE_SECONDS)
    data = bytearray(source.read_bytes())
    with av.open(str(source)) as container:
        laid_out = [(p.pos, p.size) for p in container.demux(container.streams.video[0]) if p.size]
    rng = np.random.default_rng(5)
    for index in packets:
        pos, size = laid_out[index]
        data[pos + 4:pos + size] = rng.bytes(size - 4)  # the NAL length prefix stays: only the picture is lost
    return _write(folder / f"{name}.mp4", data)


def corrupt_first_keyframe(folder: Path) -> Path:
    """The first keyframe is noise: nothing before the second (1 s) can be rebuilt."""
    return corrupt_packets(folder, "corrupt-first-keyframe", [0])


def corrupt_inside_a_gop(folder: Path) -> Path:
    """Two P-frames inside the third GOP are noise: the decoder conceals them and goes on."""
    return corrupt_packets(folder, "corrupt-inside-gop", [25, 26])


def corrupt_stretch(folder: Path) -> Path:
    """Two whole GOPs (2 s to 4 s) are noise, midway."""
    return corrupt_packets(folder, "corrupt-stretch", range(20, 40))


def piped_webm(folder: Path) -> Path:
    """A 4 s VP8 WebM written as a browser recorder or a pipe writes it: no duration, no cues."""
    return encode(folder / "piped.webm", seconds=4, codec="libvpx", container="webm", piped=True)


def piped_matroska(folder: Path) -> Path:
    """A 4 s H.264 Matroska file written to a pipe: no duration."""
    return encode(folder / "piped.mkv", seconds=4, container="matroska", options=_x264(), piped=True)


def mpeg_ts(folder: Path) -> Path:
    """A 4 s MPEG-TS file: its declared duration is an estimate from the bitrate, so it is measured."""
    return encode(folder / "clip.ts", seconds=4, container="mpegts", options=_x264())


def late_start(folder: Path, container: str = "matroska") -> Path:
    """A 4 s clip whose first frame is stamped t = 100000 s (a cut from a long recording)."""
    suffix = {"matroska": "mkv", "mpegts": "ts", "mp4": "mp4"}[container]
    return encode(folder / f"late.{suffix}", seconds=4, container=container, options=_x264(), start_s=100000.0)


def rotated(folder: Path, upright: Iterable[np.ndarray], fps: int = FPS, name: str = "rotated.mp4") -> Path:
    """``upright`` frames stored turned a quarter clockwise (as a phone held upright records them), with a display
    matrix that turns them back: a player shows them upright."""
    stored = [np.ascontiguousarray(np.rot90(frame, -1)) for frame in upright]
    height, width = stored[0].shape[:2]
    return encode(folder / name, frames=stored, fps=fps, size=(width, height), options=_x264(), rotation=90)


def oversize(folder: Path, limit: int) -> Path:
    """Noise just over the upload limit: refused while streaming, before it is all on disk."""
    return _write(folder / "huge.mp4", np.random.default_rng(4).bytes(limit + 64 * 1024))


def tiny_valid(folder: Path) -> Path:
    """A 2 s, 64x48 H.264 MP4: the well-formed carrier of the hostile file names, and the good job that
    shows the worker still serves after a bad one."""
    return valid_mp4(folder / "good.mp4")


# ---- the corpus ------------------------------------------------------------------------------------
# HTTP statuses and codes as the README's error-code table gives them.

_NOT_A_VIDEO = Outcome.refused(415, "not_a_video")
_NOT_ANALYSED = Outcome.refused(415, "unsupported_container")
# A job that analysed less of its video than min_coverage: it succeeds, and says so.
_PARTIAL = Outcome.warned("partial_coverage")

CORPUS: tuple[Case, ...] = (
    Case("empty", empty, Outcome.refused(400, "empty_file")),
    Case("random-bytes", random_bytes, _NOT_A_VIDEO),
    Case("text-as-video-mime", text_as_video, _NOT_A_VIDEO),
    Case("png-renamed", png_renamed, _NOT_A_VIDEO),
    Case("animated-gif", animated_gif, _NOT_A_VIDEO),
    Case("apng", apng, _NOT_A_VIDEO),
    Case("zip-bomb", zip_bomb, _NOT_A_VIDEO),
    Case("audio-only", audio_only, Outcome.refused(415, "no_video_stream")),
    Case("video-track-without-frames", no_frames, Outcome.refused(415, "no_video_stream")),
    Case("truncated-moov-last", truncated_moov_at_end, _NOT_A_VIDEO),
    Case("moov-missing", moov_missing, _NOT_A_VIDEO),
    Case("unsupported-codec", unsupported_codec, Outcome.refused(415, "unsupported_codec")),
    Case("huge-dimensions-y4m", huge_dimensions_y4m, _NOT_ANALYSED, why="YUV4MPEG2 is not a container vidsafe opens"),
    Case("concat-list", concat_list, _NOT_ANALYSED, why="a list of other files: what it names is never opened"),
    Case("hls-playlist", hls_playlist, _NOT_ANALYSED),
    Case("dash-manifest", dash_manifest, _NOT_ANALYSED),
    Case("huge-dimensions-avi", huge_dimensions_avi, Outcome.refused(422, "frame_too_large")),
    Case("absurd-frame-rate", absurd_frame_rate, Outcome.refused(422, "bad_frame_rate")),
    Case("absurd-duration", absurd_duration, Outcome.refused(422, "too_long")),
    Case("forged-short-duration", forged_short_duration, Outcome.succeeded(),
         why="the header says 1 s, the packets 20: it is analysed, and charged, as 20 s"),
    Case("millions-of-samples", millions_of_samples, Outcome.refused(422, "too_many_frames")),
    Case("webm-garbled-header", webm_garbled_header, _NOT_A_VIDEO),
    Case("truncated-faststart", truncated_faststart, _PARTIAL, why="what is there is analysed; the rest is missing"),
    Case("mkv-truncated", mkv_truncated, _PARTIAL),
    Case("avi-truncated", avi_truncated, _PARTIAL, why="the last MJPEG frame is cut mid-way: it is skipped"),
    Case("corrupted-mid-stream", corrupted_mid_stream, _PARTIAL, why="decoding resumes after the noise"),
    Case("corrupt-first-keyframe", corrupt_first_keyframe, _PARTIAL, why="decoding starts at the second keyframe"),
    Case("corrupt-inside-a-gop", corrupt_inside_a_gop, Outcome.succeeded(), why="the decoder conceals two frames"),
    Case("corrupt-stretch", corrupt_stretch, _PARTIAL),
    Case("piped-webm", piped_webm, Outcome.succeeded(), why="no declared duration: measured by a scan"),
    Case("piped-matroska", piped_matroska, Outcome.succeeded()),
    Case("mpeg-ts", mpeg_ts, Outcome.succeeded()),
    Case("late-start", late_start, Outcome.succeeded(), why="a 4 s clip stamped from t = 100000 s"),
    Case("no-keyframes", no_keyframes, Outcome.failed("unreadable_media")),
    Case("only-b-frames", only_b_frames, Outcome.failed("unreadable_media")),
    Case("resolution-grows-past-limit", resolution_grows_past_limit, Outcome.failed("frame_too_large")),
    Case("zero-duration", zero_duration, Outcome.succeeded(), why="the one frame is decodable: it is analysed"),
    Case("resolution-change", resolution_change, Outcome.succeeded(),
         why="valid H.264: every frame is scaled to the probed size"),
    Case("name-path-traversal", tiny_valid, Outcome.succeeded(), upload_name="../../../../tmp/vidsafe-owned.mp4",
         why="the name is a label; the file is stored under the job id"),
    Case("name-windows-traversal", tiny_valid, Outcome.succeeded(), upload_name="..\\..\\..\\Windows\\evil.mp4"),
    Case("name-absolute", tiny_valid, Outcome.succeeded(), upload_name="/etc/cron.d/vidsafe-owned.mp4"),
    Case("name-control-characters", tiny_valid, Outcome.succeeded(),
         upload_name="clip\x00\x07\x1b[31m\x7f\u202egpj.mp4", why="stored without the control characters"),
    Case("name-long", tiny_valid, Outcome.succeeded(), upload_name="v" * 2000 + ".mp4", why="cut to 255 characters"),
    Case("name-huge", tiny_valid, Outcome.refused(400, "malformed_upload"), upload_name="v" * 40_000 + ".mp4",
         why="python-multipart refuses a part header line over 4 kB"),
)
