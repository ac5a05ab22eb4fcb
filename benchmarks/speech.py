"""Word error rate of each Whisper the catalogue offers (``VIDSAFE_SPEECH_MODEL``): vidsafe's speech stage on
Triton, and plain faster-whisper on the same file. One run, one results file.

    .venv/bin/python -m benchmarks.speech

For each variant: its files exported into a model repository of their own (the speech models only), a Triton
serving it, the speech stage run on a video of generated sentences (espeak-ng, pauses between them), and
``WhisperModel.transcribe`` (beam 5, VAD) on the same video with the same files. Word error rate against the
sentences (jiwer, case and punctuation aside), and wall seconds of each. Writes ``benchmarks/results/speech.md``
(linked from the README).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from faster_whisper import WhisperModel

from benchmarks.e2e import machine, publish, word_error_rate
from tests.helpers.speech import speech_repository
from tests.helpers.support import isolated_settings
from vidsafe.catalogue import Module, load_catalogue
from vidsafe.deploy import stack
from vidsafe.export.models import export_models
from vidsafe.export.sample_video import Scene, Speech, make_sample_video
from vidsafe.media.probe import probe_video
from vidsafe.settings import Settings, get_settings
from vidsafe.triton import TritonClient
from vidsafe.workers.speech import SpeechStage

RESULTS = Path(__file__).with_name("results") / "speech.md"
GAP_S = 6.0  # from one sentence's start to the next: each is about 3 s, so pauses longer than the VAD's 2 s
SENTENCES = (
    "Please check this video before it is published.",
    "Send the gift card numbers to this account today.",
    "The meeting starts at nine in the morning.",
    "Nobody should see this part of the stream.",
    "Meet me behind the station after dark.",
    "Transfer the money before the police find out.",
    "This channel will be closed on Friday.",
    "Call the number on the screen to claim your prize.",
    "We are selling tickets for the concert tonight.",
    "Do not tell anyone where the package is hidden.",
    "The weather will be cold and windy tomorrow.",
    "Click the link below to verify your password.",
)
SPOKEN = tuple(Speech(sentence, 1.0 + i * GAP_S) for i, sentence in enumerate(SENTENCES))


def measure(variant: str, video: Path, root: Path, base: Settings) -> dict[str, float | str]:
    repository = speech_repository(base.model_repository, root / f"repository-{variant}")
    settings = isolated_settings(root / f"state-{variant}", model_repository=repository, speech_model=variant,
                                       served_modules=[str(Module.speech)])
    export_models(settings, [str(Module.speech)])
    stack.up(settings, ["triton"])
    try:
        with TritonClient(settings.effective_triton_url) as client:
            stage = SpeechStage(client, settings.min_scores[Module.speech], settings)
            media = probe_video(video, settings)
            stage.run(video, media)  # warm-up: the first batch loads CTranslate2's kernels
            clock = time.perf_counter()
            heard = " ".join(finding.text or "" for finding in stage.run(video, media))
            stage_s = time.perf_counter() - clock
    finally:
        stack.down(settings)
    whisper = WhisperModel(str(repository / "speech_to_text/1/whisper"), device="cpu", compute_type="int8",
                           cpu_threads=2)
    clock = time.perf_counter()
    segments, _ = whisper.transcribe(str(video), beam_size=5, vad_filter=True, language="en")
    plain = " ".join(segment.text for segment in segments)  # the generator decodes as it is read
    plain_s = time.perf_counter() - clock
    return {"stage_wer": word_error_rate(heard, SPOKEN), "stage_s": stage_s, "heard": heard.strip(),
            "plain_wer": word_error_rate(plain, SPOKEN), "plain_s": plain_s, "plain": plain.strip()}


def main() -> None:
    base = get_settings()
    variants = load_catalogue()[Module.speech].variants
    with tempfile.TemporaryDirectory(prefix="vidsafe-speech-") as scratch:
        root = Path(scratch)
        duration = SPOKEN[-1].start_s + GAP_S
        video = make_sample_video(root / "sentences.mp4", scenes=(Scene("camera", 0.0, duration),), speech=SPOKEN,
                                  size=(160, 90))
        results = {variant: measure(variant, video, root, base) for variant in variants}
    lines = ["# Speech: word error rate of each Whisper", "",
             f"Measured by `python -m benchmarks.speech` on {machine()}, {time.strftime('%Y-%m-%d')}: "
             f"{len(SENTENCES)} espeak-ng sentences, {GAP_S:.0f} s apart, in a {duration:.0f} s video. vidsafe: "
             "the speech stage on Triton (cpu profile); plain: `WhisperModel.transcribe` (beam 5, VAD) on the same "
             "file and files. Seconds are wall time after a warm-up (plain: including its model's first call).", "",
             "| `VIDSAFE_SPEECH_MODEL` | vidsafe WER | vidsafe s | plain faster-whisper WER | plain s |",
             "|---|---|---|---|---|"]
    lines += [f"| `{variant}` | {r['stage_wer']:.3f} | {r['stage_s']:.1f} | {r['plain_wer']:.3f} | {r['plain_s']:.1f} |"
              for variant, r in results.items()]
    lines += ["", "What each heard:", ""]
    for variant, r in results.items():
        lines += [f"- `{variant}`, vidsafe: {r['heard']}", f"- `{variant}`, plain: {r['plain']}"]
    publish(RESULTS, lines)


if __name__ == "__main__":
    main()
