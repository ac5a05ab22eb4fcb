"""The speech models served by Triton against their references, silero-vad 6.2.3 (voice activity) and
faster-whisper 1.2.1 (Whisper tiny.en), the speech stage end to end, and the models' configs.

Test speech is spoken by espeak-ng into a video's AAC track, and the track is decoded as the worker
decodes it: every reference runs on the very samples Triton gets.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch
from faster_whisper import BatchedInferencePipeline, WhisperModel
from silero_vad import get_speech_timestamps

from tests.helpers.model_configs import REPOSITORY, load_config
from tests.helpers.speech import (
    MODELS,
    SENTENCES,
    SILERO_OPTIONS,
    STT_OUTPUTS,
    TAIL_S,
    make_speech_video,
    speech_repository,
    words,
)
from tests.helpers.support import isolated_settings, run_job, stored_uploads
from tests.helpers.triton import assert_batched, assert_refused, client_fixture, infer, infer_concurrently, statistics
from vidsafe.deploy import stack
from vidsafe.export.models import export_models
from vidsafe.export.sample_video import Scene, make_sample_video, speak
from vidsafe.settings import Settings
from vidsafe.triton import TritonClient
from vidsafe.workers import speech
from vidsafe.workers.speech import (
    SAMPLE_RATE,
    WINDOW,
    decode_audio,
    speech_probabilities,
    speech_timestamps,
)

# Tolerances, from the spread of the references themselves across the CPU paths their runtimes take
# (benchmarks/results/numeric_spread.md, `python -m benchmarks.numeric_spread`):
# - silero VAD on ONNX Runtime: 1.8e-7 over 1/2/4 threads with and without graph optimisations;
PROB_TOLERANCE = 1e-5
# - segment times are Whisper's timestamp tokens, 0.02 s apart. The CPU paths moved none; the batch a clip is
#   decoded in moves its logits enough, at times, to pick a token two steps away (0.04 s, seen with 14 requests
#   in flight; 4e-3 s in the benchmark's batch of 6). 2.5x that: five tokens;
TIME_TOLERANCE_S = 0.1
# - avg_logprob moved by up to 1.2e-2 between CTranslate2's instruction sets (GENERIC, AVX, AVX2; AVX-512 where
#   the CPU has it) on these sentences, the transcripts staying identical; the served model batches, which
#   moves it less (1.1e-3 measured on an AVX2 machine). 2.5x the ISA spread; the texts must match exactly.
LOGPROB_TOLERANCE = 0.03
# - on the tests' second of silence, which Whisper answers with a low-confidence hallucination (below its
#   log_prob_threshold, under which the stage drops it), avg_logprob moved by up to 8.4e-2 between the ISAs.
#   Such a phrase must stay below the threshold on both sides, within 2.5x that spread.
SILENCE_LOGPROB_TOLERANCE = 0.2
SPAN_TOLERANCE_S = 0.1  # how far a segment may reach past its padding: silero's 32 ms windows
PAD_S = speech.DEFAULT_VAD.speech_pad_ms / 1000


# Test data


@pytest.fixture(scope="module")
def audio(speech_video) -> np.ndarray:
    samples, offset_s = decode_audio(speech_video[0], until_s=float("inf"))
    assert abs(offset_s) < 0.05 and abs(len(samples) / SAMPLE_RATE - speech_video[1][-1][1] - TAIL_S) < 0.1
    return samples


@pytest.fixture(scope="module")
def whisper() -> BatchedInferencePipeline:
    model = WhisperModel(str(REPOSITORY / "speech_to_text" / "1" / "whisper"), device="cpu", compute_type="int8")
    return BatchedInferencePipeline(model)


client = client_fixture(*MODELS)


# Voice activity: the segmentation, against silero-vad's own (no server needed)


# Voice activity, served


def test_speech_probabilities_match_silero(client, audio: np.ndarray, vad) -> None:
    out = infer(client, "voice_activity", {"AUDIO": audio[None]}, ("PROBS", "STATE_OUT"))
    expected = vad.audio_forward(torch.from_numpy(audio), SAMPLE_RATE).numpy()[0]
    assert out["PROBS"].shape == (1, -(-len(audio) // WINDOW)) == (1, len(expected))
    np.testing.assert_allclose(out["PROBS"][0], expected, rtol=0, atol=PROB_TOLERANCE)
    assert out["STATE_OUT"].shape == (1, speech.VAD_STATE_SIZE)


def test_speech_segments_match_silero(triton_url: str, audio: np.ndarray, vad, speech_video) -> None:
    with TritonClient(triton_url) as triton:
        segments = speech_timestamps(speech_probabilities(triton, audio), len(audio))
    expected = get_speech_timestamps(torch.from_numpy(audio), vad, **SILERO_OPTIONS)
    # Exact: the probabilities agree far closer than any of them lies to a threshold here.
    assert segments == [(s["start"], s["end"]) for s in expected]
    # The sentences' pause is shorter than the 2 s that splits speech: one segment holds both, padded.
    assert len(segments) == 1, segments
    (start, end), first_spoken, last_spoken = segments[0], speech_video[1][0][0], speech_video[1][-1][1]
    assert first_spoken - PAD_S - SPAN_TOLERANCE_S <= start / SAMPLE_RATE <= first_spoken + SPAN_TOLERANCE_S, \
        (start / SAMPLE_RATE, first_spoken)
    # The track's last second of silence is shorter than the 2 s that ends speech: the segment runs to the end.
    assert end == len(audio) and last_spoken + TAIL_S - SPAN_TOLERANCE_S <= end / SAMPLE_RATE, (end, last_spoken)


def test_chunks_with_carried_state_equal_one_pass(triton_url: str, audio: np.ndarray,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    with TritonClient(triton_url) as triton:
        whole = speech_probabilities(triton, audio)
        monkeypatch.setattr(speech, "VAD_CHUNK", 37 * WINDOW)
        chunked = speech_probabilities(triton, audio)
    assert len(audio) > 4 * speech.VAD_CHUNK, "several chunks"
    np.testing.assert_array_equal(chunked, whole)


def test_concurrent_clips_are_batched_and_answered_in_kind(client, audio: np.ndarray, vad) -> None:
    clips = [audio, audio[::-1], audio * 0.5, audio[: len(audio) // 3], audio[5000:]]
    clips = [np.ascontiguousarray(clip) for clip in clips for _ in range(3)]
    before = statistics(client, "voice_activity")
    results = infer_concurrently(client, "voice_activity", [{"AUDIO": clip[None]} for clip in clips],
                                 ("PROBS", "STATE_OUT"))
    for clip, out in zip(clips, results, strict=True):
        expected = vad.audio_forward(torch.from_numpy(clip), SAMPLE_RATE).numpy()[0]
        np.testing.assert_allclose(out["PROBS"][0], expected, rtol=0, atol=PROB_TOLERANCE)
    assert_batched(client, "voice_activity", before, len(clips), "Triton's dynamic batcher combined clips into batches")


def test_several_rows_and_short_clips(client, audio: np.ndarray, vad) -> None:
    rows = np.stack([audio[:700], audio[40000:40700]])
    out = infer(client, "voice_activity", {"AUDIO": rows}, ("PROBS", "STATE_OUT"))
    assert out["PROBS"].shape == (2, 2)  # a partial window is zero-padded, as silero pads it
    for row, probs in zip(rows, out["PROBS"], strict=True):
        vad.reset_states()
        padded = torch.from_numpy(np.pad(row, (0, 2 * WINDOW - len(row))))
        expected = [vad(padded[i:i + WINDOW], SAMPLE_RATE).item() for i in (0, WINDOW)]
        np.testing.assert_allclose(probs, expected, rtol=0, atol=PROB_TOLERANCE)


# Speech to text, served


def whisper_options() -> dict:
    """The decoding options of the served model, read from its config."""
    parameters = load_config("speech_to_text").parameters
    language = parameters["language"].string_value
    return {"language": None if language == "auto" else language,
            "beam_size": int(parameters["beam_size"].string_value),
            "without_timestamps": parameters["without_timestamps"].string_value == "true"}


def reference_phrases(whisper: BatchedInferencePipeline, clip: np.ndarray) -> list[tuple[str, float, float, float]]:
    segments, _ = whisper.transcribe(clip, vad_filter=False, **whisper_options())
    return [(s.text, s.start, s.end, s.avg_logprob) for s in segments]


def served_phrases(out: dict[str, np.ndarray], row: int = 0) -> list[tuple[str, float, float, float]]:
    count = int(out["COUNT"][row, 0])
    assert all(t == b"" for t in out["TEXT"][row, count:]), "rows past COUNT are padding"
    return [(out["TEXT"][row, k].decode(), *map(float, out["TIMES"][row, k]), float(out["AVG_LOGPROB"][row, k]))
            for k in range(count)]


def assert_same_phrases(actual: list, expected: list) -> None:
    assert [p[0] for p in actual] == [p[0] for p in expected]  # the same transcript, to the character
    for (_, start, end, logprob), (_, expected_start, expected_end, expected_logprob) in zip(
            actual, expected, strict=True):
        assert abs(start - expected_start) <= TIME_TOLERANCE_S and abs(end - expected_end) <= TIME_TOLERANCE_S
        if expected_logprob < speech.MIN_AVG_LOGPROB:
            assert logprob < speech.MIN_AVG_LOGPROB and abs(logprob - expected_logprob) <= SILENCE_LOGPROB_TOLERANCE
        else:
            assert abs(logprob - expected_logprob) <= LOGPROB_TOLERANCE


def speech_clips(audio: np.ndarray, vad) -> list[np.ndarray]:
    """The reference's speech segments, each alone, and both with the pause between them."""
    segments = get_speech_timestamps(torch.from_numpy(audio), vad, max_speech_duration_s=30)
    return [audio[s["start"]:s["end"]] for s in segments] + [audio[segments[0]["start"]:segments[-1]["end"]]]


def test_transcripts_match_faster_whisper(client, audio: np.ndarray, vad, whisper) -> None:
    clips = speech_clips(audio, vad)
    for clip, sentence in zip(clips, SENTENCES, strict=False):
        expected = reference_phrases(whisper, clip)
        assert words(" ".join(p[0] for p in expected)) == words(sentence), "the test speech is understood"
        assert_same_phrases(served_phrases(infer(client, "speech_to_text", {"AUDIO": clip[None]}, STT_OUTPUTS)),
                            expected)
    both = served_phrases(infer(client, "speech_to_text", {"AUDIO": clips[-1][None]}, STT_OUTPUTS))
    assert_same_phrases(both, reference_phrases(whisper, clips[-1]))
    assert words(" ".join(p[0] for p in both)) == words(" ".join(SENTENCES))


def test_concurrent_segments_are_batched_and_answered_in_kind(client, audio: np.ndarray, vad, whisper) -> None:
    clips = speech_clips(audio, vad)
    clips += [np.ascontiguousarray(clip[len(clip) // 4:]) for clip in clips] + [audio[:SAMPLE_RATE]]
    expected = [reference_phrases(whisper, clip) for clip in clips]
    requests = [{"AUDIO": clip[None]} for clip in clips] * 2
    before = statistics(client, "speech_to_text")
    results = infer_concurrently(client, "speech_to_text", requests, STT_OUTPUTS)
    for index, out in enumerate(results):
        assert_same_phrases(served_phrases(out), expected[index % len(clips)])
    assert_batched(client, "speech_to_text", before, len(requests),
                   "faster-whisper decoded segments of several requests as one batch")


def test_rows_of_one_request_are_transcribed_apart(client, audio: np.ndarray, vad, whisper) -> None:
    first, second = speech_clips(audio, vad)[:2]
    length = min(len(first), len(second))
    rows = np.stack([first[:length], second[:length]])
    out = infer(client, "speech_to_text", {"AUDIO": rows}, STT_OUTPUTS)
    for row, clip in enumerate(rows):
        assert_same_phrases(served_phrases(out, row), reference_phrases(whisper, clip))


@pytest.mark.parametrize("samples", [0, 30 * SAMPLE_RATE + 1])
def test_audio_outside_one_window_is_refused_and_server_keeps_serving(client, audio: np.ndarray, vad, whisper,
                                                                      samples: int) -> None:
    assert_refused(lambda: infer(client, "speech_to_text", {"AUDIO": np.zeros((1, samples), np.float32)}, STT_OUTPUTS),
                   "AUDIO must hold 1 to 480000 samples", status=None)
    clip = speech_clips(audio, vad)[0]
    assert_same_phrases(served_phrases(infer(client, "speech_to_text", {"AUDIO": clip[None]}, STT_OUTPUTS)),
                        reference_phrases(whisper, clip))


# The speech stage, end to end


def analyse_speech(api: httpx.Client, path: Path) -> list[dict]:
    """Run a job with the speech module only; its findings."""
    return run_job(api, path, '{"modules": ["speech"]}')[1]


def test_speech_in_a_video_is_transcribed_and_timed(api: httpx.Client, running_stack: Settings, speech_video) -> None:
    path, spans = speech_video
    findings = analyse_speech(api, path)
    assert {(f["module"], f["label"]) for f in findings} == {("speech", "speech")}
    heard = sorted(findings, key=lambda f: f["timestamp_s"])
    assert [words(f["text"]) for f in heard] == [words(sentence) for sentence in SENTENCES]
    earliest = [spans[0][0] - PAD_S] + [previous_end for _, previous_end in spans[:-1]]
    for finding, (spoken_start, spoken_end), earliest_start in zip(heard, spans, earliest, strict=True):
        # Inside the sentence's clip (espeak-ng's own silences included), and covering most of it. Whisper may start a
        # phrase early: in the VAD's padding, or in the pause that the sentences share in one segment.
        assert earliest_start - SPAN_TOLERANCE_S <= finding["timestamp_s"] < spoken_start + SPAN_TOLERANCE_S
        assert finding["timestamp_s"] < finding["end_s"] <= spoken_end + SPAN_TOLERANCE_S
        assert finding["end_s"] - finding["timestamp_s"] > 0.5 * (spoken_end - spoken_start)
        assert 0 < finding["score"] <= 1 and finding["attributes"]["no_speech_prob"] < 0.6
    assert not stored_uploads(running_stack)


def test_the_stage_hears_as_well_as_plain_faster_whisper(api: httpx.Client, tmp_path: Path, whisper) -> None:
    """The benchmark's four sentences, with its pauses: the stage's word error rate is no worse than that of
    ``WhisperModel.transcribe`` (beam 5, VAD) on the same file. Not word for word: both are right on most words, and
    tiny.en's choice on a word espeak-ng blurs ("send", "and") flips with a window's difference in the VAD's cut."""
    from benchmarks.bench_video import SPEECH
    from benchmarks.e2e import word_error_rate

    path = make_sample_video(tmp_path / "sentences.mp4", scenes=(Scene("camera", 0.0, SPEECH[-1].start_s + 5),),
                             speech=SPEECH, size=(160, 90))
    plain, _ = whisper.model.transcribe(str(path), beam_size=5, vad_filter=True, language="en")
    heard = sorted(analyse_speech(api, path), key=lambda f: f["timestamp_s"])
    plain_wer = word_error_rate(" ".join(segment.text for segment in plain))
    assert word_error_rate(" ".join(f["text"] for f in heard)) <= plain_wer < 0.5
    # Timed on the track, not in the joined speech (14 s): inside the speech, the last phrase ending in the last
    # sentence. Whisper's phrase times are its own (a phrase may start on the previous segment's tail, as plain
    # faster-whisper's do).
    times = [(f["timestamp_s"], f["end_s"]) for f in heard]
    assert all(SPEECH[0].start_s - PAD_S - SPAN_TOLERANCE_S <= start < end for start, end in times), times
    assert SPEECH[-1].start_s < times[-1][1] <= SPEECH[-1].start_s + 5, times


def test_a_silent_track_gives_no_findings(api: httpx.Client, tmp_path: Path) -> None:
    path = tmp_path / "silent.mp4"
    assert make_speech_video(path, sentences=()) == []
    assert analyse_speech(api, path) == []


# The Whisper variants (VIDSAFE_SPEECH_MODEL)

# Many languages: the multilingual Whisper (base) identifies each clip's language and renders it in English.
SPOKEN = {"es": "Te voy a matar si vuelves a mi casa.", "de": "Ich werde dich finden und dich töten.",
          "en": "Please call me tomorrow."}


@pytest.fixture(scope="module")
def multilingual(running_stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonClient]:
    """A Triton of its own serving the speech models with Whisper base (the variant setting's other choice)."""
    root = tmp_path_factory.mktemp("whisper-base")
    repository = speech_repository(running_stack.model_repository, root / "repository")
    settings = isolated_settings(root / "state", model_repository=repository, speech_model="base",
                                 served_modules=["speech"])
    export_models(settings, ["speech"])
    stack.up(settings, ["triton"])
    try:
        with TritonClient(settings.effective_triton_url) as client:
            yield client
    finally:
        stack.down(settings)


def test_base_identifies_each_clips_language_and_renders_it_in_english(multilingual: TritonClient) -> None:
    clips = {language: speak(sentence, voice=language if language != "en" else "en-us")
             for language, sentence in SPOKEN.items()}
    heard = {}
    for language, clip in clips.items():
        assert clip is not None, "the speech tests need espeak-ng"
        heard[language] = multilingual.infer("speech_to_text", {"AUDIO": clip[None]}, STT_OUTPUTS)
    for language, out in heard.items():
        assert out["LANGUAGE"][0, 0].decode() == language, (language, out["TEXT"][0])
        assert float(out["LANGUAGE_PROB"][0, 0]) > 0.5
    assert heard["en"]["TRANSLATION"][0, 0] == b"", "English needs no rendering"
    for language, words_of_it in (("es", "kill"), ("de", "find you")):  # base's renderings: "...kill you...",
        english = heard[language]["TRANSLATION"][0, 0].decode().lower()  # "I will find you and you will die."
        assert words_of_it in english, (language, english)

