"""The bundled sample: a short H.264 + AAC video assembled from scikit-image's public-domain photos,
a drawn caption and a sentence spoken by espeak-ng.

Generated, not committed, so its ground truth is known exactly: ``SAMPLE_SCENES`` says what is on
screen when, ``SAMPLE_SPEECH`` what is said when. The astronaut photo (Eileen Collins, a face and a
person) appears twice; the coffee scene carries a caption; the cat scene carries the speech.

The same writer makes the benchmark's and the recall tests' videos: scenes pan and zoom over their photo,
and captions can come and go inside a scene (``Caption``) or scroll across it, at any frame size.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np


@dataclass(frozen=True)
class Scene:
    """A shot: one photo from ``start_s`` to ``end_s``, panning right and zooming in as it goes, with its
    caption (if any) in a band at the bottom for the whole shot."""

    photo: str  # a skimage.data function name
    start_s: float
    end_s: float
    caption: str = ""
    pan_px_s: float = 20.0  # at 360 lines; scaled with the frame height
    zoom_per_s: float = 0.0  # relative growth of the photo per second


@dataclass(frozen=True)
class Caption:
    """Text shown in a band at the top from ``start_s`` to ``end_s`` whatever the shot, still or scrolling
    leftwards (a ticker) at ``scroll_px_s``, to stop at the left margin as it ends."""

    text: str
    start_s: float
    end_s: float
    scroll_px_s: float = 0.0


@dataclass(frozen=True)
class Speech:
    sentence: str
    start_s: float
    voice: str = "en-us"  # espeak-ng's voice: the language it speaks


SAMPLE_SCENES = (
    Scene("coffee", 0.0, 3.0, caption="FREE GIFT CARDS INSIDE"),
    Scene("astronaut", 3.0, 6.0),
    Scene("chelsea", 6.0, 9.0),
    Scene("astronaut", 9.0, 12.0),
)
SAMPLE_SPEECH = Speech("Please check this video before it is published.", start_s=6.3)
WIDTH, HEIGHT, FPS = 640, 360, 25
AUDIO_RATE = 16000


def _photo(name: str) -> np.ndarray:
    from skimage import data  # the sample is a dev/demo tool; scikit-image is not a runtime dependency

    image = getattr(data, name)()
    return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image[..., :3]


def _frame(image: np.ndarray, scene: Scene, t: float, captions: list[Caption], size: tuple[int, int]) -> np.ndarray:
    """The photo scaled to the frame height (zoomed as the scene says), on a dark canvas, shifted to make the
    scene move, with the scene's caption in black on a white band at the bottom and the timed captions on one
    at the top."""
    width, height = size
    unit = height / HEIGHT  # sizes below are given for the sample's 360 lines
    elapsed = t - scene.start_s
    scale = height / image.shape[0] * (1.0 + scene.zoom_per_s * elapsed)
    resized = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)),
                         interpolation=cv2.INTER_AREA)
    canvas = np.full((height, width, 3), 16, np.uint8)
    left = (width - resized.shape[1]) // 2 + int(scene.pan_px_s * unit * elapsed)
    top = (height - resized.shape[0]) // 2
    # The part of the photo that falls on the canvas, however far it has moved or grown.
    x0, y0, x1, y1 = max(0, left), max(0, top), min(width, left + resized.shape[1]), min(height, top + resized.shape[0])
    if x1 > x0 and y1 > y0:
        canvas[y0:y1, x0:x1] = resized[y0 - top:y1 - top, x0 - left:x1 - left]
    if scene.caption:
        _band(canvas, scene.caption, height - round(70 * unit), round(24 * unit), unit)
    for caption in captions:
        x = round(24 * unit + caption.scroll_px_s * unit * (caption.end_s - t))
        _band(canvas, caption.text, round(10 * unit), x, unit)
    return canvas


def _band(canvas: np.ndarray, text: str, top: int, x: int, unit: float) -> None:
    """``text`` in black on a white band 60 lines (at 360) high from ``top``, starting at column ``x``."""
    canvas[top:top + round(60 * unit)] = 255
    cv2.putText(canvas, text, (x, top + round(45 * unit)), cv2.FONT_HERSHEY_DUPLEX, 1.1 * unit, (0, 0, 0),
                max(1, round(2 * unit)), cv2.LINE_AA)


def speak(sentence: str, rate: int = AUDIO_RATE, voice: str = "en-us") -> np.ndarray | None:
    """The sentence in espeak-ng's ``voice`` (en-us, es, de, fr, ...) at 140 words a minute, as mono float32 at
    ``rate``; None when espeak-ng is not installed."""
    if shutil.which("espeak-ng") is None:
        return None
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", "140", "--stdout", sentence],
                         capture_output=True, check=True).stdout
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    with av.open(io.BytesIO(wav)) as container:
        return np.concatenate([part.to_ndarray()[0] for frame in container.decode(audio=0)
                               for part in resampler.resample(frame)])


def _audio_track(duration_s: float, speech: tuple[Speech, ...]) -> np.ndarray:
    """A faint noise floor, as a real room has, with each sentence spoken at its time."""
    track = np.random.default_rng(5).normal(0, 1e-3, round(duration_s * AUDIO_RATE)).astype(np.float32)
    for item in speech:
        spoken = speak(item.sentence, voice=item.voice)
        if spoken is None:
            continue
        start = round(item.start_s * AUDIO_RATE)
        spoken = spoken[: max(0, len(track) - start)]
        track[start:start + len(spoken)] += spoken
    return track


def render_frames(scenes: tuple[Scene, ...], captions: tuple[Caption, ...], size: tuple[int, int],
                  fps: float) -> Iterator[tuple[float, np.ndarray]]:
    """(time, RGB frame) at ``fps`` through the scenes, at ``size`` (width x height): the video's pictures."""
    photos = {scene.photo: _photo(scene.photo) for scene in scenes}
    for index in range(round(scenes[-1].end_s * fps)):
        t = index / fps
        scene = next(s for s in scenes if s.start_s <= t < s.end_s)
        shown = [c for c in captions if c.start_s <= t < c.end_s]
        yield t, _frame(photos[scene.photo], scene, t, shown, size)


def make_sample_video(path: Path, scenes: tuple[Scene, ...] = SAMPLE_SCENES,
                      speech: tuple[Speech, ...] | None = (SAMPLE_SPEECH,), captions: tuple[Caption, ...] = (),
                      size: tuple[int, int] = (WIDTH, HEIGHT)) -> Path:
    """Write the sample (or another video of ``scenes``, ``captions`` and ``speech`` at ``size``, width x
    height). ``speech=None`` gives no audio track, ``()`` a silent one; without espeak-ng the sentences are
    left out."""
    path.parent.mkdir(parents=True, exist_ok=True)
    duration = scenes[-1].end_s
    audio = _audio_track(duration, speech) if speech is not None else None
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as container:
        video = container.add_stream("libx264", rate=FPS)
        (video.width, video.height), video.pix_fmt = size, "yuv420p"
        video.time_base = Fraction(1, FPS)
        video.options = {"crf": "23", "preset": "veryfast", "g": str(2 * FPS)}
        # Every stream must exist before the first packet is written.
        sound = container.add_stream("aac", rate=AUDIO_RATE, layout="mono") if audio is not None else None
        if sound is not None:
            sound.bit_rate = 64000  # AAC's default for 16 kHz mono smears espeak's consonants
        for index, (_, image) in enumerate(render_frames(scenes, captions, size, FPS)):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = index
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if sound is not None:
            _mux_audio(container, sound, audio)  # type: ignore[arg-type]
    return path


def _mux_audio(container: av.container.OutputContainer, stream: av.AudioStream, audio: np.ndarray) -> None:
    resampler = av.AudioResampler(format="fltp", layout="mono", rate=AUDIO_RATE)
    block = 1024
    for start in range(0, len(audio), block):
        frame = av.AudioFrame.from_ndarray(audio[None, start:start + block], format="fltp", layout="mono")
        frame.sample_rate, frame.pts = AUDIO_RATE, start
        for resampled in resampler.resample(frame):
            container.mux(stream.encode(resampled))
    container.mux(stream.encode(None))
