"""Whisper on CTranslate2 through faster-whisper's BatchedInferencePipeline: the speech segments of all
requests of one execute() are decoded as one batch.

The pipeline batches the clips that ``clip_timestamps`` cut from one audio array. So the segments are
laid end to end in one array, each starting on a whole second: every clip's offset, and the ``seek``
faster-whisper stamps on the clip's output, are then exact, and tell which segment an output belongs
to. Each clip gets its own features (padded to Whisper's 30 s window), exactly as
``transcribe(segment, vad_filter=False)`` computes them for the segment alone.

Languages (``language`` = ``auto``): a multilingual Whisper (base) identifies each clip's language itself
(``detect_language``, on the clip alone), and the clips of one language are decoded as one batch, told their
language. With ``translate``, clips in another language than English are decoded a second time with Whisper's
``translate`` task: their English rendering, one text per clip, for the judges that read English. An English-only
Whisper (tiny.en) answers English for every clip.
"""

from __future__ import annotations

import json
import zlib
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

import numpy as np
import triton_python_backend_utils as pb_utils
from faster_whisper import BatchedInferencePipeline, WhisperModel

SAMPLE_RATE = 16000
MAX_SAMPLES = 30 * SAMPLE_RATE  # one Whisper window; longer audio would be cut by the pipeline
Phrase = tuple[str, float, float, float, float]  # text, start s, end s, avg_logprob, no_speech_prob
AUTO = "auto"
LOOP_COMPRESSION_RATIO = 2.4
ENGLISH = "en"


class Heard(NamedTuple):
    """One clip: its phrases, language (and how sure), and English rendering ("" when it is English)."""

    phrases: list[Phrase]
    language: str
    language_probability: float
    translation: str


def looping(text: str) -> bool:
    """Whether Whisper ran into a loop ("come on, come on, ..."): text that compresses as well as Whisper's own
    ``compression_ratio_threshold`` (2.4) calls a failed decoding. No rendering is better than a false one."""
    data = text.encode()
    return len(data) > 40 and len(data) / len(zlib.compress(data)) > LOOP_COMPRESSION_RATIO


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        config = json.loads(args["model_config"])
        parameters = {key: value["string_value"] for key, value in config.get("parameters", {}).items()}
        path = Path(args["model_repository"]) / args["model_version"] / "whisper"
        if not (path / "model.bin").is_file():
            raise pb_utils.TritonModelException(f"{path} is incomplete: export the models first (export/models.py)")
        on_gpu = args["model_instance_kind"] == "GPU"
        model = WhisperModel(
            str(path), device="cuda" if on_gpu else "cpu",
            device_index=int(args["model_instance_device_id"]) if on_gpu else 0,
            compute_type=parameters["compute_type"], cpu_threads=int(parameters["cpu_threads"]),
        )
        self.model = model
        self.pipeline = BatchedInferencePipeline(model)
        self.frames_per_second = model.frames_per_second
        self.language = parameters["language"]
        self.translate = parameters.get("translate", "false") == "true" and model.model.is_multilingual
        self.options = {
            "beam_size": int(parameters["beam_size"]),
            "without_timestamps": parameters["without_timestamps"] == "true",
        }

    def execute(self, requests: list) -> list:
        audios = [pb_utils.get_input_tensor_by_name(r, "AUDIO").as_numpy() for r in requests]
        valid = [0 < audio.shape[1] <= MAX_SAMPLES for audio in audios]
        phrases = iter(self.transcribe([row for audio, ok in zip(audios, valid, strict=True) if ok for row in audio]))
        responses = []
        for audio, ok in zip(audios, valid, strict=True):
            if not ok:
                message = f"AUDIO must hold 1 to {MAX_SAMPLES} samples (30 s at 16 kHz), got {audio.shape[1]}"
                responses.append(pb_utils.InferenceResponse(
                    error=pb_utils.TritonError(message, pb_utils.TritonError.INVALID_ARG)))
                continue
            responses.append(self.response([next(phrases) for _ in audio]))
        return responses

    def language_of(self, clip: np.ndarray) -> tuple[str, float]:
        if self.language != AUTO:
            return self.language, 1.0
        if not self.model.model.is_multilingual:
            return ENGLISH, 1.0
        language, probability, _ = self.model.detect_language(clip)
        return language, float(probability)

    def transcribe(self, clips: list[np.ndarray]) -> list[Heard]:
        """Each clip heard: its phrases (times relative to its start), language and English rendering."""
        languages = [self.language_of(clip) for clip in clips]
        by_language: dict[str, list[int]] = defaultdict(list)
        for index, (language, _) in enumerate(languages):
            by_language[language].append(index)
        phrases: list[list[Phrase]] = [[] for _ in clips]
        translations = [""] * len(clips)
        for language, indices in by_language.items():
            group = [clips[i] for i in indices]
            for index, found in zip(indices, self.decode(group, language=language, task="transcribe"), strict=True):
                phrases[index] = found
            if self.translate and language != ENGLISH:
                english = self.decode(group, language=language, task="translate")
                for index, found in zip(indices, english, strict=True):
                    rendering = " ".join(phrase[0].strip() for phrase in found).strip()
                    translations[index] = rendering if not looping(rendering) else ""
        return [Heard(phrases[i], *languages[i], translations[i]) for i in range(len(clips))]

    def decode(self, clips: list[np.ndarray], **task: str) -> list[list[Phrase]]:
        """Whisper's phrases of each clip (one batch), times relative to the clip's start."""
        if not clips:
            return []
        bounds = np.cumsum([0] + [-(-len(clip) // SAMPLE_RATE) * SAMPLE_RATE for clip in clips])
        offsets = bounds[:-1]
        audio = np.zeros(bounds[-1], np.float32)
        for offset, clip in zip(offsets, clips, strict=True):
            audio[offset:offset + len(clip)] = clip
        # The pipeline turns seconds into samples with int(seconds * 16000): starts are whole seconds,
        # and half a sample on the end keeps float rounding from dropping the clip's last sample.
        timestamps = [{"start": offset / SAMPLE_RATE, "end": (offset + len(clip) + 0.5) / SAMPLE_RATE}
                      for offset, clip in zip(offsets, clips, strict=True)]
        clip_of_seek = {offset // SAMPLE_RATE * self.frames_per_second: i for i, offset in enumerate(offsets)}
        segments, _ = self.pipeline.transcribe(audio, vad_filter=False, clip_timestamps=timestamps,
                                               batch_size=len(clips), **self.options, **task)
        found: list[list[Phrase]] = [[] for _ in clips]
        for segment in segments:
            clip = clip_of_seek[segment.seek]
            start_s = offsets[clip] / SAMPLE_RATE
            found[clip].append((segment.text, segment.start - start_s, segment.end - start_s,
                                segment.avg_logprob, segment.no_speech_prob))
        return found

    @staticmethod
    def response(heard: list[Heard]) -> pb_utils.InferenceResponse:
        # Tensors must be rectangular: pad every row to the request's largest count.
        rows = [clip.phrases for clip in heard]
        width = max(len(phrases) for phrases in rows)
        text = np.full((len(rows), width), b"", dtype=np.object_)
        times = np.zeros((len(rows), width, 2), np.float32)
        avg_logprob = np.zeros((len(rows), width), np.float32)
        no_speech_prob = np.zeros((len(rows), width), np.float32)
        count = np.zeros((len(rows), 1), np.int32)
        for row, phrases in enumerate(rows):
            count[row] = len(phrases)
            for k, (phrase, start, end, logprob, no_speech) in enumerate(phrases):
                text[row, k] = phrase.encode()
                times[row, k] = start, end
                avg_logprob[row, k], no_speech_prob[row, k] = logprob, no_speech
        return pb_utils.InferenceResponse(output_tensors=[
            pb_utils.Tensor("TEXT", text), pb_utils.Tensor("TIMES", times),
            pb_utils.Tensor("AVG_LOGPROB", avg_logprob), pb_utils.Tensor("NO_SPEECH_PROB", no_speech_prob),
            pb_utils.Tensor("COUNT", count),
            pb_utils.Tensor("LANGUAGE", np.array([[clip.language.encode()] for clip in heard], dtype=np.object_)),
            pb_utils.Tensor("LANGUAGE_PROB", np.array([[clip.language_probability] for clip in heard], np.float32)),
            pb_utils.Tensor("TRANSLATION", np.array([[clip.translation.encode()] for clip in heard],
                                                    dtype=np.object_)),
        ])

    def finalize(self) -> None:
        self.pipeline = None
        self.model = None
