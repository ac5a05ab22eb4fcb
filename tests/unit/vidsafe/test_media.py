"""Probing and sampling on generated files (no stack needed)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import hostile_corpus
from vidsafe.domain.errors import ErrorCode, MediaError
from vidsafe.domain.jobs import MediaInfo
from vidsafe.export.sample_video import SAMPLE_SCENES, Scene, make_sample_video
from vidsafe.media.decoding import DecodeReport, SampledFrame, decode_report, sample_frames
from vidsafe.media.probe import probe_video
from vidsafe.observability import DECODER_FALLBACKS
from vidsafe.settings import Settings


def test_probe_reads_the_sample(sample_video: Path) -> None:
    media = probe_video(sample_video, Settings())
    assert (media.width, media.height, media.codec) == (640, 360, "h264")
    assert media.duration_s == pytest.approx(SAMPLE_SCENES[-1].end_s, abs=0.05)
    assert media.fps == pytest.approx(25)


@pytest.mark.parametrize("fps", [0.5, 2.0, 5.0])
def test_sampling_rate_and_timestamps(sample_video: Path, fps: float) -> None:
    frames = list(sample_frames(sample_video, fps, 320, 180))
    assert len(frames) == round(SAMPLE_SCENES[-1].end_s * fps)
    assert [f.index for f in frames] == list(range(len(frames)))
    times = [f.timestamp_s for f in frames]
    assert times == sorted(times)
    # Each sample is the first decodable frame at or after its target time (non-reference frames skipped).
    for target, actual in zip((i / fps for i in range(len(frames))), times, strict=True):
        assert target - 1e-6 <= actual < target + 0.2
    assert frames[0].rgb.shape == (180, 320, 3) and frames[0].rgb.dtype == "uint8"


@pytest.mark.parametrize(
    ("limits", "code"),
    [({"max_duration_s": 5.0}, ErrorCode.too_long), ({"max_frame_pixels": 640 * 359}, ErrorCode.frame_too_large)],
)
def test_limits_are_enforced(sample_video: Path, limits: dict, code: ErrorCode) -> None:
    with pytest.raises(MediaError) as raised:
        probe_video(sample_video, Settings(**limits))
    assert raised.value.code == code


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MediaError) as raised:
        probe_video(tmp_path / "gone.mp4", Settings())
    assert raised.value.code == ErrorCode.file_missing


def test_short_custom_scenes(tmp_path: Path) -> None:
    video = make_sample_video(tmp_path / "short.mp4", (Scene("camera", 0.0, 1.0),))
    assert probe_video(video, Settings()).duration_s == pytest.approx(1.0, abs=0.05)


# ---- what a player plays, vidsafe analyses (the corpus's playable files) ----------------------------------

def _sampled(path: Path, fps: float = 2.0) -> tuple[MediaInfo, list[SampledFrame], DecodeReport]:
    media = probe_video(path, Settings())
    report = decode_report(0.0, fps, media.fps)
    frames = list(sample_frames(path, fps, media.width, media.height, report=report))
    report.finish(media.duration_s)
    return media, frames, report


@pytest.mark.parametrize(("make", "indices", "undecodable", "skipped"), [
    # Nothing before the second keyframe (1 s) can be rebuilt; decoding starts there.
    (hostile_corpus.corrupt_first_keyframe, list(range(2, 12)), [(0.0, 1.0)], 1),
    # The decoder conceals two broken P-frames: every sample is there.
    (hostile_corpus.corrupt_inside_a_gop, list(range(12)), [], 0),
    # Two GOPs of noise midway: the samples at 2.0-3.5 s are lost, decoding resumes at 4 s.
    (hostile_corpus.corrupt_stretch, [0, 1, 2, 3, 8, 9, 10, 11], [(2.0, 4.0)], 0),
], ids=["first-keyframe", "inside-a-gop", "stretch"])
def test_corrupt_packets_are_skipped_and_reported(tmp_path: Path, make: Callable[[Path], Path], indices: list[int],
                                                  undecodable: list[tuple[float, float]], skipped: int) -> None:
    media, frames, report = _sampled(make(tmp_path))
    assert media.duration_s == pytest.approx(hostile_corpus.PLAYABLE_SECONDS)
    assert [f.index for f in frames] == indices
    # Each frame sits in its own slot of the 0.5 s grid, after a gap too.
    assert all(f.index * 0.5 <= f.timestamp_s < f.index * 0.5 + 0.5 for f in frames)
    assert report.undecodable == [pytest.approx(r, abs=0.11) for r in undecodable]
    assert report.packets_skipped == skipped


@pytest.mark.parametrize(("make", "scanned"), [
    (hostile_corpus.piped_webm, True), (hostile_corpus.piped_matroska, True), (hostile_corpus.mpeg_ts, True),
    (hostile_corpus.late_start, False), (partial(hostile_corpus.late_start, container="mpegts"), True),
    (partial(hostile_corpus.late_start, container="mp4"), False),
], ids=["piped-webm", "piped-matroska", "mpeg-ts", "late-matroska", "late-ts", "late-mp4"])
def test_durations_run_from_the_first_frame_and_are_scanned_when_not_declared(tmp_path: Path,
                                                                               make: Callable[[Path], Path],
                                                                               scanned: bool) -> None:
    """4 s each: written without a duration, as MPEG-TS, or starting at t = 100000 s (not a 27-hour video)."""
    path = make(tmp_path)
    media, frames, report = _sampled(path)
    assert media.duration_s == pytest.approx(4.0, abs=0.01)
    assert media.duration_scanned == scanned
    assert [f.index for f in frames] == list(range(8)) and frames[0].timestamp_s == pytest.approx(0.0)
    assert report.undecodable == []


def test_a_header_that_declares_less_than_the_file_holds_is_not_believed(tmp_path: Path) -> None:
    path = hostile_corpus.forged_short_duration(tmp_path)
    media, frames, report = _sampled(path)
    assert media.duration_s == pytest.approx(hostile_corpus.FORGED_SECONDS, abs=0.2) and media.duration_scanned
    assert len(frames) == hostile_corpus.FORGED_SECONDS * 2 and report.undecodable == []
    with pytest.raises(MediaError) as raised:
        probe_video(path, Settings(max_duration_s=10.0))
    assert raised.value.code == ErrorCode.too_long


def test_a_scanned_duration_is_still_limited(tmp_path: Path) -> None:
    with pytest.raises(MediaError) as raised:
        probe_video(hostile_corpus.piped_matroska(tmp_path), Settings(max_duration_s=2.0))
    assert raised.value.code == ErrorCode.too_long


def test_rotation_is_applied_before_analysis(tmp_path: Path) -> None:
    """Frames stored sideways with a display matrix: the media info gives the displayed size and the rotation,
    and every sampled frame is upright (a white corner top-left, as drawn)."""
    upright = []
    for _ in range(10):
        frame = np.zeros((48, 64, 3), np.uint8)
        frame[:12, :20] = 255
        upright.append(frame)
    media, frames, _ = _sampled(hostile_corpus.rotated(tmp_path, upright))
    assert (media.width, media.height, media.rotation) == (64, 48, 90)
    assert frames[0].rgb.shape == (48, 64, 3)
    assert frames[0].rgb[:12, :20].mean() > 240 and frames[0].rgb[16:, 24:].mean() < 15


def test_nvdec_decodes_the_same_frames_or_the_cpu_does_saying_so(sample_video: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    before = DECODER_FALLBACKS._value.get()
    on_cpu = list(sample_frames(sample_video, 2.0, 320, 180))
    with caplog.at_level(logging.WARNING, logger="vidsafe.media.decoding"):
        asked_nvdec = list(sample_frames(sample_video, 2.0, 320, 180, decoder="nvdec"))
    assert [frame.index for frame in asked_nvdec] == [frame.index for frame in on_cpu]
    if DECODER_FALLBACKS._value.get() > before:  # no GPU decoder here: the CPU decoded, and said so
        assert "NVDEC is unavailable" in caplog.text
        for nvdec, cpu in zip(asked_nvdec, on_cpu, strict=True):
            np.testing.assert_array_equal(nvdec.rgb, cpu.rgb)
    else:  # a GPU decoded: H.264 is exact, the colour conversion of its output may round apart
        for nvdec, cpu in zip(asked_nvdec, on_cpu, strict=True):
            assert np.abs(nvdec.rgb.astype(int) - cpu.rgb).mean() < 2.0
