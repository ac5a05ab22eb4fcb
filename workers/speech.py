"""Speech: silero VAD finds where people speak, Whisper transcribes what they say; both served by Triton.

The audio track is decoded once to 16 kHz mono float32, what both models take. Voice activity runs over
it in chunks, each request carrying the state the previous one handed back: a long track never becomes
one huge request, and the probabilities are still those of one pass over the whole track. Speech
segments are cut from the probabilities as silero-vad's ``get_speech_timestamps`` cuts them.

Whisper then hears them as plain faster-whisper does with ``WhisperModel.transcribe(vad_filter=True)``: with
its voice-activity parameters (pauses under 2 s do not split speech, 0.4 s of padding), and the segments laid
end to end, silences cut out, so that Whisper hears a window of speech in context. Each sentence alone in a
window of silence, with silero's tighter defaults, was what made the stage mishear words that plain
faster-whisper heard; the benchmark (``benchmarks/results/e2e.md``) gives both word error rates. Each group of
segments up to Whisper's 30 s window is one transcription request, several in flight so that Triton batches
them; its phrases' times are mapped back to the track's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from vidsafe.catalogue import Module, triton_model
from vidsafe.domain.errors import ErrorCode, MediaError
from vidsafe.domain.findings import Finding
from vidsafe.domain.jobs import MediaInfo
from vidsafe.media.containers import open_media
from vidsafe.media.probe import decode_end_s
from vidsafe.triton import TritonClient
from vidsafe.workers.stages import AudioStage

SAMPLE_RATE = 16000
WINDOW = 512  # samples per voice-activity probability
VAD_STATE_SIZE = 320
VAD_CHUNK = 1875 * WINDOW  # one minute per voice-activity request
STT_OUTPUTS = ("TEXT", "TIMES", "AVG_LOGPROB", "NO_SPEECH_PROB", "COUNT", "LANGUAGE", "LANGUAGE_PROB", "TRANSLATION")
STT_IN_FLIGHT = 8  # the model's max_batch_size: one job alone can fill a batch
MAX_CLIP = 30 * SAMPLE_RATE  # Whisper's window: the most one transcription request holds
# Whisper's own test for a silent window (faster-whisper's no_speech_threshold and log_prob_threshold):
# its text is then a hallucination, not speech.
NO_SPEECH_PROB = 0.6
MIN_AVG_LOGPROB = -1.0


@dataclass(frozen=True)
class VadOptions:
    """silero-vad's get_speech_timestamps parameters: faster-whisper's VadOptions defaults, what
    ``WhisperModel.transcribe(vad_filter=True)`` uses, with segments capped at Whisper's 30 s window (one
    request) where faster-whisper's are unbounded."""

    threshold: float = 0.5
    min_speech_duration_ms: int = 0
    max_speech_duration_s: float = 30.0
    min_silence_duration_ms: int = 2000
    speech_pad_ms: int = 400
    min_silence_at_max_speech_ms: int = 98


DEFAULT_VAD = VadOptions()


def decode_audio(path: Path, until_s: float) -> tuple[np.ndarray, float]:
    """The first audio track as 16 kHz mono float32, up to ``until_s`` on the video's clock, and where it starts on
    that clock (s)."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    parts: list[np.ndarray] = []
    first_time: float | None = None
    try:
        with open_media(path) as container:
            video = container.streams.video[0]
            video_start = float(video.start_time * video.time_base) if video.start_time is not None else 0.0
            for frame in container.decode(container.streams.audio[0]):
                if frame.time is not None and frame.time - video_start > until_s:
                    break  # past the probed duration: neither analysed nor charged
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


def speech_groups(segments: list[tuple[int, int]], max_samples: int = MAX_CLIP) -> list[list[tuple[int, int]]]:
    """Consecutive segments joined while their speech fits one window, as faster-whisper's ``collect_chunks``
    joins them (each segment is at most a window itself)."""
    groups: list[list[tuple[int, int]]] = []
    length = 0
    for start, end in segments:
        if groups and length + end - start <= max_samples:
            groups[-1].append((start, end))
            length += end - start
        else:
            groups.append([(start, end)])
            length = end - start
    return groups


def track_time(group: list[tuple[int, int]], seconds: float, is_end: bool) -> float:
    """Where ``seconds`` into a group's joined audio falls on the track (s). A time on the seam of two segments
    is the next one's start, or, for a phrase's end, the previous one's end (faster-whisper's
    ``SpeechTimestampsMap``); a time past the group's audio (Whisper rounds up) is clamped to its end."""
    sample = seconds * SAMPLE_RATE
    offset = 0
    for start, end in group:
        length = end - start
        if sample < offset + length or (is_end and sample <= offset + length):
            return (start + max(0.0, sample - offset)) / SAMPLE_RATE
        offset += length
    return group[-1][1] / SAMPLE_RATE


class SpeechStage(AudioStage):
    module = Module.speech

    def run(self, path: Path, media: MediaInfo) -> list[Finding]:
        audio, offset_s = decode_audio(path, decode_end_s(media))
        groups = speech_groups(speech_timestamps(speech_probabilities(self.triton, audio), len(audio)))
        requests = ((group, {"AUDIO": np.concatenate([audio[start:end] for start, end in group])[None]})
                    for group in groups)
        findings = []
        transcribed = self.triton.infer_pipelined(triton_model(self.module, "transcription"), requests, STT_OUTPUTS,
                                                  STT_IN_FLIGHT)
        for group, out in transcribed:
            language = {"language": out["LANGUAGE"][0, 0].decode(),
                        "language_prob": round(float(out["LANGUAGE_PROB"][0, 0]), 4)}
            if translation := out["TRANSLATION"][0, 0].decode().strip():
                language["translation"] = translation  # of the whole group: its phrases share it
            for k in range(int(out["COUNT"][0, 0])):
                text = out["TEXT"][0, k].decode().strip()
                avg_logprob, no_speech_prob = float(out["AVG_LOGPROB"][0, k]), float(out["NO_SPEECH_PROB"][0, k])
                score = math.exp(avg_logprob)
                if not text or score < self.min_score or (
                        no_speech_prob > NO_SPEECH_PROB and avg_logprob < MIN_AVG_LOGPROB):
                    continue
                phrase_start, phrase_end = (track_time(group, float(t), is_end)
                                            for t, is_end in zip(out["TIMES"][0, k], (False, True), strict=True))
                findings.append(Finding(
                    module=self.module, label="speech", score=score, text=text,
                    timestamp_s=max(0.0, offset_s + phrase_start), end_s=max(0.0, offset_s + phrase_end),
                    attributes={"avg_logprob": avg_logprob, "no_speech_prob": no_speech_prob, **language},
                ))
        return findings
