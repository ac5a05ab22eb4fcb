"""Speech in six languages: word error rate per language of the speech stage with the multilingual Whisper
(``VIDSAFE_SPEECH_MODEL=base``), how often it names each segment's language right, what its English rendering
says, and its speed against tiny.en on the English sentences.

    .venv/bin/python -m benchmarks.speech_languages

espeak-ng speaks three sentences per language (its voices: en-us, es, de, fr, it, pt), a pause between them, in one
video per language. Each Whisper is exported into a model repository of its own and served by a Triton of its
own (as ``benchmarks.speech`` does). Word error rate against the sentences (jiwer; case, punctuation and accents
aside). Writes ``benchmarks/results/speech_languages.md`` (linked from the README).
"""

from __future__ import annotations

import re
import tempfile
import time
import unicodedata
from pathlib import Path

import jiwer

from benchmarks.e2e import machine, publish
from tests.helpers.speech import speech_repository
from tests.helpers.support import isolated_settings
from vidsafe.catalogue import Module
from vidsafe.deploy import stack
from vidsafe.export.models import export_models
from vidsafe.export.sample_video import Scene, Speech, make_sample_video
from vidsafe.media.probe import probe_video
from vidsafe.settings import get_settings
from vidsafe.triton import TritonClient
from vidsafe.workers.speech import SpeechStage

RESULTS = Path(__file__).with_name("results") / "speech_languages.md"
GAP_S = 5.0
SENTENCES = {
    "en": ("Please call me tomorrow morning.", "The train leaves at nine.", "Send me your bank details now."),
    "es": ("Por favor llámame mañana por la mañana.", "El tren sale a las nueve.",
           "Envíame ahora los datos de tu banco."),
    "de": ("Bitte ruf mich morgen früh an.", "Der Zug fährt um neun Uhr ab.", "Schick mir jetzt deine Bankdaten."),
    "fr": ("Appelle-moi demain matin s'il te plaît.", "Le train part à neuf heures.",
           "Envoie-moi tes coordonnées bancaires maintenant."),
    "it": ("Per favore chiamami domani mattina.", "Il treno parte alle nove.", "Mandami subito i tuoi dati bancari."),
    "pt": ("Por favor liga-me amanhã de manhã.", "O comboio parte às nove.", "Envia-me agora os teus dados bancários."),
}
VOICES = {"en": "en-us"}


def words(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.lower())
    return " ".join(re.findall(r"\w+", "".join(c for c in folded if not unicodedata.combining(c))))


def video_of(language: str, root: Path) -> Path:
    spoken = tuple(Speech(sentence, 1.0 + i * GAP_S, VOICES.get(language, language))
                   for i, sentence in enumerate(SENTENCES[language]))
    return make_sample_video(root / f"{language}.mp4", scenes=(Scene("camera", 0.0, len(spoken) * GAP_S + 1.0),),
                             speech=spoken, size=(160, 90))


def measure(variant: str, videos: dict[str, Path], root: Path) -> dict[str, dict]:
    repository = speech_repository(get_settings().model_repository, root / f"repository-{variant}")
    settings = isolated_settings(root / f"state-{variant}", model_repository=repository, speech_model=variant,
                                 served_modules=[str(Module.speech)])
    export_models(settings, [str(Module.speech)])
    stack.up(settings, ["triton"])
    results = {}
    try:
        with TritonClient(settings.effective_triton_url) as client:
            stage = SpeechStage(client, settings.min_scores[Module.speech], settings)
            first = next(iter(videos.values()))
            stage.run(first, probe_video(first, settings))  # warm-up
            for language, video in videos.items():
                clock = time.perf_counter()
                found = stage.run(video, probe_video(video, settings))
                seconds = time.perf_counter() - clock
                heard = " ".join(f.text or "" for f in found)
                results[language] = {
                    "wer": jiwer.wer(words(" ".join(SENTENCES[language])), words(heard) or "-"),
                    "languages": [f.attributes.get("language", "") for f in found], "seconds": seconds,
                    "heard": heard.strip(),
                    "english": " ".join(dict.fromkeys(str(f.attributes.get("translation", "")) for f in found)).strip()}
    finally:
        stack.down(settings)
    return results


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vidsafe-languages-") as scratch:
        root = Path(scratch)
        videos = {language: video_of(language, root) for language in SENTENCES}
        base = measure("base", videos, root)
        tiny = measure("tiny.en", {"en": videos["en"]}, root)
    lines = ["# Speech in six languages: Whisper base", "",
             f"Measured by `python -m benchmarks.speech_languages` on {machine()}, {time.strftime('%Y-%m-%d')}: three "
             "espeak-ng sentences per language, 5 s apart, a video each; the speech stage on Triton (cpu profile), "
             "language identified per segment, English rendered by Whisper's translate task (none: the speech is "
             "English, or the rendering looped and was dropped). Seconds: wall time of the stage on the video, after "
             "a warm-up.", "",
             "| language | WER | segments named right | seconds | English rendering |", "|---|---|---|---|---|"]
    for language, r in base.items():
        right = sum(found == language for found in r["languages"])
        lines.append(f"| {language} | {r['wer']:.3f} | {right} of {len(r['languages'])} | {r['seconds']:.1f} | "
                     f"{r['english'] or '(none)'} |")
    lines += ["", f"tiny.en on the English video: WER {tiny['en']['wer']:.3f} in {tiny['en']['seconds']:.1f} s; "
              f"base {base['en']['wer']:.3f} in {base['en']['seconds']:.1f} s "
              f"({base['en']['seconds'] / max(tiny['en']['seconds'], 1e-6):.1f}x the time).", "",
              "What base heard:", ""]
    lines += [f"- {language}: {r['heard']}" for language, r in base.items()]
    publish(RESULTS, lines)


if __name__ == "__main__":
    main()
