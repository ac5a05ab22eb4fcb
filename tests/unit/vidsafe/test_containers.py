"""Only the containers vidsafe analyses are opened (vidsafe/media/containers.py): a list of other files, a
playlist or a manifest is refused before anything it names is read, at probing, decoding and audio alike."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.hostile_corpus import encode
from vidsafe.domain.errors import ErrorCode, MediaError
from vidsafe.media.decoding import sample_frames
from vidsafe.media.probe import probe_video
from vidsafe.settings import Settings
from vidsafe.workers.speech import decode_audio

REFERRING = {
    # What the attack was: a 60-byte upload naming another team's video, once in the same folder.
    "concat": "ffconcat version 1.0\nfile victim.mp4\n",
    "hls": "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nvictim.mp4\n#EXT-X-ENDLIST\n",
    "dash": ('<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" '
             'mediaPresentationDuration="PT2S"><Period><AdaptationSet><Representation id="1" bandwidth="1">'
             '<BaseURL>victim.mp4</BaseURL></Representation></AdaptationSet></Period></MPD>\n'),
}
# Named as a server-side file could be: FFmpeg also goes by the name's extension.
NAMES = {"concat": "list.ffconcat", "hls": "playlist.m3u8", "dash": "manifest.mpd"}


@pytest.fixture(scope="module")
def victim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return encode(tmp_path_factory.mktemp("folder") / "victim.mp4", seconds=2)


@pytest.mark.parametrize("kind", list(REFERRING))
@pytest.mark.parametrize("read", [lambda path: probe_video(path, Settings()),
                                  lambda path: next(sample_frames(path, 2.0, 64, 48)),
                                  lambda path: decode_audio(path, until_s=60.0)], ids=["probe", "decode", "audio"])
def test_a_file_that_names_other_files_is_refused(victim: Path, kind: str, read: Callable[[Path], object]) -> None:
    for name in (NAMES[kind], "9f1c6a2e-upload"):  # its own extension, and an upload's bare job id
        path = victim.with_name(name)
        path.write_text(REFERRING[kind])
        with pytest.raises(MediaError) as refused:
            read(path)
        assert refused.value.code == ErrorCode.unsupported_container, (name, refused.value.message)
        assert "never what a file refers to" in refused.value.message


@pytest.mark.parametrize(("container", "codec", "suffix"), [
    ("mp4", "libx264", "mp4"), ("mov", "libx264", "mov"), ("matroska", "libx264", "mkv"), ("webm", "libvpx", "webm"),
    ("avi", "mjpeg", "avi"), ("mpegts", "libx264", "ts"), ("flv", "flv", "flv"), ("ogg", "libvpx", "ogv")])
def test_every_container_vidsafe_analyses_is_opened(tmp_path: Path, container: str, codec: str, suffix: str) -> None:
    options = {"preset": "ultrafast"} if codec == "libx264" else {}
    video = encode(tmp_path / f"clip.{suffix}", seconds=1, codec=codec, container=container, options=options,
                   pix_fmt="yuvj420p" if codec == "mjpeg" else "yuv420p")
    assert probe_video(video, Settings()).duration_s > 0.5
    assert len(list(sample_frames(video, 2.0, 64, 48))) == 2


@pytest.mark.parametrize(("name", "data", "code", "says"), [
    ("still.png", b"\x89PNG\r\n\x1a\n" + bytes(200), ErrorCode.not_a_video, "still image"),
    ("frames.y4m", b"YUV4MPEG2 W64 H48 F25:1 Ip A1:1 C420jpeg\nFRAME\n" + bytes(64 * 48 * 3 // 2),
     ErrorCode.unsupported_container, "does not analyse"),
    ("noise.mp4", bytes(range(256)) * 40, ErrorCode.not_a_video, "not a readable video container"),
])
def test_what_is_not_a_video_in_an_analysed_container_says_which(tmp_path: Path, name: str, data: bytes,
                                                                  code: ErrorCode, says: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(MediaError) as refused:
        probe_video(path, Settings())
    assert refused.value.code == code and says in refused.value.message
