"""Copies of the sample video (re-encoded, rescaled, cropped) and unrelated videos, to match against it."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import pytest

from vidsafe.export.sample_video import Scene, make_sample_video
from vidsafe.settings import Settings

SETTINGS = Settings()


UNRELATED_SCENES = (Scene("rocket", 0.0, 3.0), Scene("camera", 3.0, 6.0), Scene("clock", 6.0, 9.0),
                    Scene("hubble_deep_field", 9.0, 12.0, zoom_per_s=0.05))


def transcode(source: Path, target: Path, scale: float = 1.0, crop: float = 0.0, crf: int = 23) -> Path:
    """``source`` re-encoded (H.264 at ``crf``), cropped by ``crop`` of each side and scaled by ``scale``."""
    with av.open(str(source)) as given, av.open(str(target), "w") as written:
        stream = given.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        dx, dy = round(width * crop), round(height * crop)
        size = (round((width - 2 * dx) * scale) // 2 * 2, round((height - 2 * dy) * scale) // 2 * 2)
        encoded = written.add_stream("libx264", rate=stream.average_rate)
        encoded.width, encoded.height, encoded.pix_fmt = *size, "yuv420p"
        encoded.options = {"crf": str(crf), "preset": "ultrafast"}
        for frame in given.decode(stream):
            rgb = cv2.resize(frame.to_ndarray(format="rgb24")[dy:height - dy, dx:width - dx], size,
                             interpolation=cv2.INTER_AREA)
            written.mux(encoded.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        written.mux(encoded.encode())
    return target


@pytest.fixture(scope="module")
def altered(sample_video: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample as someone re-uploading it might: re-encoded at a lower quality, 60% of its size, 0.5% cropped
    from each side (PDQ is not made for crops: at 1% a frame of the captioned scene drifts 34-36 bits away,
    past the match distance of 31; here the farthest is 22)."""
    return transcode(sample_video, tmp_path_factory.mktemp("altered") / "altered.mp4", scale=0.6, crop=0.005, crf=30)


@pytest.fixture(scope="module")
def unrelated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sample_video(tmp_path_factory.mktemp("unrelated") / "unrelated.mp4", UNRELATED_SCENES, speech=())
