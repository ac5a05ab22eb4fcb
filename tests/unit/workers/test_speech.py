"""The speech stage (workers/speech.py): voice activity segmented as Silero does, segments joined up to Whisper's
window."""

from __future__ import annotations

import numpy as np
from silero_vad import get_speech_timestamps_from_probs

from tests.helpers.model_configs import load_config
from tests.helpers.speech import SILERO_OPTIONS, STT_OUTPUTS
from vidsafe.workers import speech
from vidsafe.workers.speech import (
    SAMPLE_RATE,
    WINDOW,
    speech_groups,
    speech_timestamps,
    track_time,
)


def _probabilities(rng: np.random.Generator, windows: int, switch: float) -> np.ndarray:
    """Speech and silence runs, noisy, some long enough to reach the 30 s cap."""
    probs = np.empty(windows, np.float32)
    speaking = bool(rng.integers(2))
    for i in range(windows):
        speaking ^= bool(rng.random() < switch)
        probs[i] = rng.uniform(0.3, 1.0) if speaking else rng.uniform(0.0, 0.6)
    return probs


def test_segmentation_matches_silero_step_for_step() -> None:
    rng = np.random.default_rng(11)
    capped = 0
    for _ in range(300):
        windows, switch = int(rng.integers(1, 4000)), float(rng.choice([0.002, 0.01, 0.05, 0.3]))
        probs, samples = _probabilities(rng, windows, switch), windows * WINDOW - int(rng.integers(0, WINDOW))
        expected = get_speech_timestamps_from_probs(probs.tolist(), audio_length_samples=samples, **SILERO_OPTIONS)
        actual = speech_timestamps(probs, samples)
        assert actual == [(s["start"], s["end"]) for s in expected]  # exact: same samples
        assert all(0 <= start < end <= samples and end - start <= 30 * SAMPLE_RATE for start, end in actual)
        capped += any(end - start > 29 * SAMPLE_RATE for start, end in actual)
    assert capped >= 3, "the data exercises the 30 s cap"


def test_segments_are_joined_up_to_one_window_and_their_times_map_back() -> None:
    second = SAMPLE_RATE
    segments = [(1 * second, 3 * second), (10 * second, 12 * second), (20 * second, 48 * second),
                (50 * second, 51 * second), (55 * second, 57 * second)]
    groups = speech_groups(segments)
    assert groups == [segments[:2], segments[2:4], segments[4:]]
    assert all(sum(end - start for start, end in group) <= 30 * second for group in groups)
    # 2 s into the first group's audio is the seam: a phrase starting there starts the second segment, one ending
    # there ends the first; a time Whisper rounded past the audio is its end.
    assert track_time(groups[0], 2.0, is_end=False) == 10.0
    assert track_time(groups[0], 2.0, is_end=True) == 3.0
    assert track_time(groups[0], 3.5, is_end=False) == 11.5
    assert track_time(groups[0], 9.0, is_end=True) == 12.0
    assert track_time(groups[1], 28.5, is_end=False) == 50.5


def test_worker_constants_follow_the_configs() -> None:
    vad = load_config("voice_activity")
    assert {t.name: list(t.dims) for t in vad.input}["STATE"] == [speech.VAD_STATE_SIZE]
    assert speech.VAD_CHUNK % WINDOW == 0, "every chunk but the last is whole windows"
    stt = load_config("speech_to_text")
    assert tuple(t.name for t in stt.output) == STT_OUTPUTS
    assert stt.max_batch_size == speech.STT_IN_FLIGHT
