"""Probing and sampling on generated files (no stack needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vidsafe.deploy.sample_video import SAMPLE_SCENES, Scene, make_sample_video
from vidsafe.domain import ErrorCode, MediaError
from vidsafe.media import probe_video
from vidsafe.settings import Settings
from vidsafe.workers.sampling import sample_frames


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
