"""Speech to test with: espeak-ng sentences in a video with known gaps, and the reference voice activity model
(Silero) run in-process."""

from __future__ import annotations

import re
import shutil
from dataclasses import asdict
from pathlib import Path

import pytest
from silero_vad import load_silero_vad

from vidsafe.catalogue import Module, load_catalogue
from vidsafe.export.sample_video import AUDIO_RATE, Scene, Speech, make_sample_video, speak
from vidsafe.workers import speech

MODELS = ("voice_activity", "speech_to_text")


STT_OUTPUTS = speech.STT_OUTPUTS


# Sentences Whisper tiny.en gets word for word from the sample video's espeak-ng voice, through AAC.
SENTENCES = ("Please call me tomorrow.", "I like to read books in the garden.")


LEAD_S, GAP_S, TAIL_S = 2.0, 1.5, 1.0  # silence before, between and after the sentences


# The stage's voice-activity parameters, as silero-vad's own functions name them.
SILERO_OPTIONS = {{"min_silence_at_max_speech_ms": "min_silence_at_max_speech"}.get(name, name): value
                  for name, value in asdict(speech.DEFAULT_VAD).items()}


def speech_repository(source: Path, copy: Path) -> Path:
    """A model repository holding only the speech module's models, without their exported files."""
    for model in load_catalogue()[Module.speech].triton_models:
        shutil.copytree(source / model, copy / model,
                        ignore=shutil.ignore_patterns("__pycache__", "whisper", "*.onnx"))
    return copy


def make_speech_video(path: Path, sentences: tuple[str, ...] = SENTENCES) -> list[tuple[float, float]]:
    """A short video whose audio is silence (a faint noise floor), then the sentences with pauses between
    them, then silence. Returns where each sentence is (its espeak-ng clip, silences included), in seconds."""
    spans, now = [], LEAD_S
    for text in sentences:
        spoken = speak(text)
        assert spoken is not None, "the speech tests need espeak-ng (vidsafe setup installs it)"
        spans.append((now, now + len(spoken) / AUDIO_RATE))
        now = spans[-1][1] + GAP_S
    duration = (spans[-1][1] if spans else LEAD_S) + TAIL_S
    make_sample_video(path, scenes=(Scene("camera", 0.0, duration),),
                      speech=tuple(Speech(text, start) for text, (start, _) in zip(sentences, spans, strict=True)))
    return spans


@pytest.fixture(scope="module")
def speech_video(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[float, float]]]:
    path = tmp_path_factory.mktemp("speech") / "speech.mp4"
    return path, make_speech_video(path)


@pytest.fixture(scope="module")
def vad():
    return load_silero_vad(onnx=True)


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())
