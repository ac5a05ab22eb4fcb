"""Speech: silero VAD finds where people speak, Whisper transcribes what they say; both served by Triton.

The audio track is decoded once to 16 kHz mono float32, what both models take. Voice activity runs over
it in chunks, each request carrying the state the previous one handed back: a long track never becomes
one huge request, and the probabilities are still those of one pass over the whole track. Speech
segments are cut from the probabilities as silero-vad's ``get_speech_timestamps`` cuts them (its
defaults, with segments capped at Whisper's 30 s window, as faster-whisper's batched mode caps them).
Each segment is one transcription request, several in flight so that Triton batches them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from vidsafe.catalogue import triton_model
from vidsafe.domain import ErrorCode, Finding, MediaError, MediaInfo, Module
from vidsafe.triton import TritonClient
from vidsafe.workers.stages import AudioStage

SAMPLE_RATE = 16000
WINDOW = 512  # samples per voice-activity probability
VAD_STATE_SIZE = 320
VAD_CHUNK = 1875 * WINDOW  # one minute per voice-activity request
STT_OUTPUTS = ("TEXT", "TIMES", "AVG_LOGPROB", "NO_SPEECH_PROB", "COUNT")
STT_IN_FLIGHT = 8  # the model's max_batch_size: one job alone can fill a batch
# Whisper's own test for a silent window (faster-whisper's no_speech_threshold and log_prob_threshold):
# its text is then a hallucination, not speech.
NO_SPEECH_PROB = 0.6
MIN_AVG_LOGPROB = -1.0


@dataclass(frozen=True)
class VadOptions:
    """silero-vad's get_speech_timestamps parameters (its defaults, but for the 30 s cap)."""

    threshold: float = 0.5
    min_speech_duration_ms: int = 250
    max_speech_duration_s: float = 30.0
    min_silence_duration_ms: int = 100
    speech_pad_ms: int = 30
    min_silence_at_max_speech_ms: int = 98


DEFAULT_VAD = VadOptions()


def decode_audio(path: Path) -> tuple[np.ndarray, float]:
    """The first audio track as 16 kHz mono float32, and where it starts on the video's clock (s)."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    parts: list[np.ndarray] = []
    first_time: float | None = None
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            video = container.streams.video[0]
            video_start = float(video.start_time * video.time_base) if video.start_time is not None else 0.0
            for frame in container.decode(container.streams.audio[0]):
                if first_time is None and frame.time is not None:
                    first_time = frame.time
                parts.extend(resampled.to_ndarray()[0] for resampled in resampler.resample(frame))
            parts.extend(resampled.to_ndarray()[0] for resampled in resampler.resample(None))
    except av.FFmpegError as error:
        raise MediaError(ErrorCode.unreadable_media, f"the audio track could not be decoded ({error.strerror})") \
            from None
    audio = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    return audio, (video_start if first_time is None else first_time) - video_start


def speech_probabilities(triton: TritonClient, audio: np.ndarray) -> np.ndarray:
    """Silero's speech probability of each 512-sample window of ``audio``."""
    model = triton_model(Module.speech, "voice_activity")
    state = np.zeros((1, VAD_STATE_SIZE), np.float32)
    probs = [np.zeros(0, np.float32)]
    for start in range(0, len(audio), VAD_CHUNK):
        out = triton.infer(model, {"AUDIO": audio[None, start:start + VAD_CHUNK], "STATE": state},
                           ("PROBS", "STATE_OUT"))
        probs.append(out["PROBS"][0])
        state = out["STATE_OUT"]
    return np.concatenate(probs)


def speech_timestamps(probs: Sequence[float], samples: int, options: VadOptions = DEFAULT_VAD) -> list[tuple[int, int]]:
    """Speech segments (start, end) in samples of audio ``samples`` long, from its windows' probabilities.

    silero-vad 6.2.3's ``get_speech_timestamps_from_probs`` step for step, in its default mode: a segment
    reaching the length cap is cut at the longest silence inside it, or right there if it has none.
    """
    min_speech = SAMPLE_RATE * options.min_speech_duration_ms / 1000
    pad = SAMPLE_RATE * options.speech_pad_ms / 1000
    max_speech = SAMPLE_RATE * options.max_speech_duration_s - WINDOW - 2 * pad
    min_silence = SAMPLE_RATE * options.min_silence_duration_ms / 1000
    min_silence_at_max_speech = SAMPLE_RATE * options.min_silence_at_max_speech_ms / 1000
    neg_threshold = max(options.threshold - 0.15, 0.01)

    speeches: list[list[int]] = []
    start: int | None = None  # of the segment in progress
    silence_start = 0  # where the silence in progress began; 0: none
    silences: list[tuple[int, int]] = []  # (start, length) of the silences inside the segment in progress
    for i, prob in enumerate(probs):
        sample = WINDOW * i
        if prob >= options.threshold and silence_start:
            if sample - silence_start > min_silence_at_max_speech:
                silences.append((silence_start, sample - silence_start))
            silence_start = 0
        if prob >= options.threshold and start is None:
            start = sample
            continue
        if start is not None and sample - start > max_speech:
            if silences:
                cut, length = max(silences, key=lambda silence: silence[1])
                speeches.append([start, cut])
                # silero's test for resuming the segment after that silence
                start = cut + length if cut + length < cut + sample else None
            else:
                speeches.append([start, sample])
                start = None
                silence_start, silences = 0, []
                continue
            silence_start, silences = 0, []
        if prob < neg_threshold and start is not None:
            if not silence_start:
                silence_start = sample
            if sample - silence_start < min_silence:
                continue
            if silence_start - start > min_speech:
                speeches.append([start, silence_start])
            start = None
            silence_start, silences = 0, []
    if start is not None and samples - start > min_speech:
        speeches.append([start, samples])

    # Pad each segment; neighbours closer than two pads share the silence between them.
    for i, speech in enumerate(speeches):
        if i == 0:
            speech[0] = int(max(0, speech[0] - pad))
        if i == len(speeches) - 1:
            speech[1] = int(min(samples, speech[1] + pad))
            continue
        following = speeches[i + 1]
        silence = following[0] - speech[1]
        if silence < 2 * pad:
            speech[1] += int(silence // 2)
            following[0] = int(max(0, following[0] - silence // 2))
        else:
            speech[1] = int(min(samples, speech[1] + pad))
            following[0] = int(max(0, following[0] - pad))
    return [(start, end) for start, end in speeches]


class SpeechStage(AudioStage):
    module = Module.speech

    def run(self, path: Path, media: MediaInfo) -> list[Finding]:
        audio, offset_s = decode_audio(path)
        segments = speech_timestamps(speech_probabilities(self.triton, audio), len(audio))
        requests = (((start, end), {"AUDIO": audio[None, start:end]}) for start, end in segments)
        findings = []
        transcribed = self.triton.infer_pipelined(triton_model(self.module, "transcription"), requests, STT_OUTPUTS,
                                                  STT_IN_FLIGHT)
        for (start, end), out in transcribed:
            start_s, end_s = start / SAMPLE_RATE, end / SAMPLE_RATE
            for k in range(int(out["COUNT"][0, 0])):
                text = out["TEXT"][0, k].decode().strip()
                avg_logprob, no_speech_prob = float(out["AVG_LOGPROB"][0, k]), float(out["NO_SPEECH_PROB"][0, k])
                score = math.exp(avg_logprob)
                if not text or score < self.min_score or (
                        no_speech_prob > NO_SPEECH_PROB and avg_logprob < MIN_AVG_LOGPROB):
                    continue
                # Whisper rounds its window up to whole seconds, so a phrase may end past the segment: clamp.
                phrase_start, phrase_end = (min(start_s + float(t), end_s) for t in out["TIMES"][0, k])
                findings.append(Finding(
                    module=self.module, label="speech", score=score, text=text,
                    timestamp_s=max(0.0, offset_s + phrase_start), end_s=max(0.0, offset_s + phrase_end),
                    attributes={"avg_logprob": avg_logprob, "no_speech_prob": no_speech_prob},
                ))
        return findings
