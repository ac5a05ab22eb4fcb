"""The bundled sample: a short H.264 video assembled from scikit-image's public-domain photos.

Generated, not committed, so its ground truth is known exactly: ``SAMPLE_SCENES`` says which photo
is on screen when. The astronaut photo (Eileen Collins) is the scene a nudity detector's face classes
must find; the others are the controls.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


@dataclass(frozen=True)
class Scene:
    photo: str  # a skimage.data function name
    start_s: float
    end_s: float


SAMPLE_SCENES = (
    Scene("coffee", 0.0, 3.0),
    Scene("astronaut", 3.0, 6.0),
    Scene("chelsea", 6.0, 9.0),
    Scene("astronaut", 9.0, 12.0),
)
WIDTH, HEIGHT, FPS = 640, 360, 25


def _photo(name: str) -> np.ndarray:
    from skimage import data  # the sample is a dev/demo tool; scikit-image is not a runtime dependency

    image = getattr(data, name)()
    return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image[..., :3]


def _fit(image: np.ndarray, offset_x: int) -> np.ndarray:
    """The photo scaled to the frame height, on a dark canvas, shifted to make the scene move."""
    import cv2

    scale = HEIGHT / image.shape[0]
    resized = cv2.resize(image, (round(image.shape[1] * scale), HEIGHT), interpolation=cv2.INTER_AREA)
    canvas = np.full((HEIGHT, WIDTH, 3), 16, np.uint8)
    left = max(0, (WIDTH - resized.shape[1]) // 2 + offset_x)
    width = min(resized.shape[1], WIDTH - left)
    canvas[:, left:left + width] = resized[:, :width]
    return canvas


def make_sample_video(path: Path, scenes: tuple[Scene, ...] = SAMPLE_SCENES) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    photos = {scene.photo: _photo(scene.photo) for scene in scenes}
    total_frames = round(scenes[-1].end_s * FPS)
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.time_base = Fraction(1, FPS)
        stream.options = {"crf": "23", "preset": "veryfast", "g": str(2 * FPS)}
        for index in range(total_frames):
            t = index / FPS
            scene = next(s for s in scenes if s.start_s <= t < s.end_s)
            frame = av.VideoFrame.from_ndarray(_fit(photos[scene.photo], int(20 * (t - scene.start_s))),
                                               format="rgb24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path
