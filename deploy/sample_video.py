"""The bundled sample: a short H.264 + AAC video assembled from scikit-image's public-domain photos,
a drawn caption and a sentence spoken by espeak-ng.

Generated, not committed, so its ground truth is known exactly: ``SAMPLE_SCENES`` says what is on
screen when, ``SAMPLE_SPEECH`` what is said when. The astronaut photo (Eileen Collins, a face and a
person) appears twice; the coffee scene carries a caption; the cat scene carries the speech.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np


@dataclass(frozen=True)
class Scene:
    photo: str  # a skimage.data function name
    start_s: float
    end_s: float
    caption: str = ""


@dataclass(frozen=True)
class Speech:
    sentence: str
    start_s: float


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


def _frame(image: np.ndarray, offset_x: int, caption: str) -> np.ndarray:
    """The photo scaled to the frame height, on a dark canvas, shifted to make the scene move, with its
    caption in black on a white band at the bottom."""
    scale = HEIGHT / image.shape[0]
    resized = cv2.resize(image, (round(image.shape[1] * scale), HEIGHT), interpolation=cv2.INTER_AREA)
    canvas = np.full((HEIGHT, WIDTH, 3), 16, np.uint8)
    left = max(0, (WIDTH - resized.shape[1]) // 2 + offset_x)
    width = min(resized.shape[1], WIDTH - left)
    canvas[:, left:left + width] = resized[:, :width]
    if caption:
        canvas[HEIGHT - 70:HEIGHT - 10] = 255
        cv2.putText(canvas, caption, (24, HEIGHT - 25), cv2.FONT_HERSHEY_DUPLEX, 1.1, (0, 0, 0), 2, cv2.LINE_AA)
    return canvas


def speak(sentence: str, rate: int = AUDIO_RATE) -> np.ndarray | None:
    """The sentence in espeak-ng's en-us voice at 140 words a minute, as mono float32 at ``rate``;
    None when espeak-ng is not installed."""
    if shutil.which("espeak-ng") is None:
        return None
    wav = subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "--stdout", sentence],
                         capture_output=True, check=True).stdout
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    with av.open(io.BytesIO(wav)) as container:
        return np.concatenate([part.to_ndarray()[0] for frame in container.decode(audio=0)
                               for part in resampler.resample(frame)])


def _audio_track(duration_s: float, speech: tuple[Speech, ...]) -> np.ndarray:
    """A faint noise floor, as a real room has, with each sentence spoken at its time."""
    track = np.random.default_rng(5).normal(0, 1e-3, round(duration_s * AUDIO_RATE)).astype(np.float32)
    for item in speech:
        spoken = speak(item.sentence)
        if spoken is None:
            continue
        start = round(item.start_s * AUDIO_RATE)
        spoken = spoken[: max(0, len(track) - start)]
        track[start:start + len(spoken)] += spoken
    return track


def make_sample_video(path: Path, scenes: tuple[Scene, ...] = SAMPLE_SCENES,
                      speech: tuple[Speech, ...] | None = (SAMPLE_SPEECH,)) -> Path:
    """Write the sample. ``speech=None`` gives no audio track, ``()`` a silent one; without espeak-ng
    the sentences are left out."""
    path.parent.mkdir(parents=True, exist_ok=True)
    photos = {scene.photo: _photo(scene.photo) for scene in scenes}
    duration = scenes[-1].end_s
    audio = _audio_track(duration, speech) if speech is not None else None
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.time_base = Fraction(1, FPS)
        video.options = {"crf": "23", "preset": "veryfast", "g": str(2 * FPS)}
        # Every stream must exist before the first packet is written.
        sound = container.add_stream("aac", rate=AUDIO_RATE, layout="mono") if audio is not None else None
        if sound is not None:
            sound.bit_rate = 64000  # AAC's default for 16 kHz mono smears espeak's consonants
        for index in range(round(duration * FPS)):
            t = index / FPS
            scene = next(s for s in scenes if s.start_s <= t < s.end_s)
            frame = av.VideoFrame.from_ndarray(
                _frame(photos[scene.photo], int(20 * (t - scene.start_s)), scene.caption), format="rgb24")
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
