"""How far a reference's own outputs spread across the CPU paths its runtime can take: where the tests'
numeric tolerances come from (tests/stack/models/), not from one machine's run.

    .venv/bin/python -m benchmarks.numeric_spread

Each runtime is run on fixed inputs along every path this machine offers, and the largest difference from the
default path is reported:
- CTranslate2 (Whisper tiny.en, as faster-whisper runs it): every instruction set it dispatches to that the CPU
  has (``CT2_FORCE_CPU_ISA``: GENERIC, AVX, AVX2, AVX512), with 1 and 2 threads: ``avg_logprob`` and times;
- ONNX Runtime (every served ONNX network): 1, 2 and 4 intra-op threads, with all graph optimisations and
  with none (other kernels, fused or not);
- LiteRT (BlazePose): 1 and 2 threads, with XNNPACK and with the built-in reference kernels (no SIMD at all).
Writes ``benchmarks/results/numeric_spread.md``. Needs the exported models (``vidsafe setup``).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import skimage.data

from vidsafe.deploy.tritonserver import ensure_model_env
from vidsafe.settings import get_settings

RESULTS = Path(__file__).with_name("results") / "numeric_spread.md"
REPOSITORY = get_settings().model_repository
ISAS = ("GENERIC", "AVX", "AVX2", "AVX512")
# One input per ONNX network, shaped as the served models feed them (NCHW float images, token ids).
ASTRONAUT = skimage.data.astronaut().astype(np.float32)


def _image(height: int, width: int, scale: float = 1 / 255) -> np.ndarray:
    resized = np.asarray(
        np.resize(ASTRONAUT, (height, width, 3)) * scale, np.float32)  # a real photo's pixel statistics
    return resized.transpose(2, 0, 1)[None]


ONNX_INPUTS = {
    "nudity_detector/1/model.onnx": {"images": _image(320, 320)},
    "face_detector/1/model.onnx": {"input": _image(320, 320, 1.0)},
    "face_embedder/1/model.onnx": {"data": _image(112, 112, 1.0)},
    "ocr_det/1/model.onnx": {"x": _image(320, 320)},
    "ocr_cls/1/model.onnx": {"x": _image(48, 192)},
    "ocr_rec/1/model.onnx": {"x": _image(48, 320)},
    "text_embedder/1/model.onnx": {"input_ids": np.array([[101, 7592, 2088, 2003, 1037, 3231, 102]], np.int64),
                                   "attention_mask": np.ones((1, 7), np.int64)},
    # One 32 ms window of noise with its 64 samples of context, from a zero state.
    "voice_activity/1/silero_vad.onnx": {
        "input": np.random.default_rng(0).normal(0, 0.1, (1, 576)).astype(np.float32),
        "state": np.zeros((2, 1, 128), np.float32), "sr": np.array(16000, np.int64)},
}
# The speech tests' sentences, each alone and both together.
SENTENCES = (("Please call me tomorrow.",), ("I like to read books in the garden.",),
             ("Please call me tomorrow.", "I like to read books in the garden."))

# Run by the model env's Python (it has ctranslate2 through faster-whisper, and LiteRT).
WHISPER_RUN = """
import json, sys
import numpy as np
from faster_whisper import BatchedInferencePipeline, WhisperModel
model = WhisperModel(sys.argv[1], device="cpu", compute_type="int8", cpu_threads=int(sys.argv[2]))
clip = np.load(sys.argv[3])
segments, _ = BatchedInferencePipeline(model).transcribe(clip, vad_filter=False, language="en", beam_size=5)
print(json.dumps([(s.text, s.start, s.end, s.avg_logprob) for s in segments]))
"""
# The clips alone, then all in one batch (each in a 30 s window of one audio, as clip_timestamps lets the
# served model batch its requests' clips): what batching alone does to the phrases.
WHISPER_BATCH_RUN = """
import json, sys
import numpy as np
from faster_whisper import BatchedInferencePipeline, WhisperModel
pipeline = BatchedInferencePipeline(WhisperModel(sys.argv[1], device="cpu", compute_type="int8", cpu_threads=2))
clips = [np.load(path) for path in sys.argv[2:]]
options = {"vad_filter": False, "language": "en", "beam_size": 5}
alone = [[(s.start, s.end, s.avg_logprob) for s in pipeline.transcribe(clip, **options)[0]] for clip in clips]
window = 30 * 16000
audio = np.zeros(window * len(clips), np.float32)
for k, clip in enumerate(clips):
    audio[k * window:k * window + len(clip)] = clip
stamps = [{"start": k * 30.0, "end": (k * window + len(clip)) / 16000} for k, clip in enumerate(clips)]
segments, _ = pipeline.transcribe(audio, clip_timestamps=stamps, batch_size=len(clips), **options)
batched = [[] for _ in clips]
for s in segments:
    k = int(s.start // 30)
    batched[k].append((s.start - 30 * k, s.end - 30 * k, s.avg_logprob))
print(json.dumps([alone, batched]))
"""
LITERT_RUN = """
import json, sys
import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType
resolver = getattr(OpResolverType, sys.argv[3])
interpreter = Interpreter(model_path=sys.argv[1], num_threads=int(sys.argv[2]), experimental_op_resolver_type=resolver)
interpreter.allocate_tensors()
details = interpreter.get_input_details()[0]
interpreter.set_tensor(details["index"], np.load(sys.argv[4]))
interpreter.invoke()
print(json.dumps({o["name"]: interpreter.get_tensor(o["index"]).ravel().tolist()
                  for o in interpreter.get_output_details()}))
"""


def _cpu_flags() -> set[str]:
    text = Path("/proc/cpuinfo").read_text()
    return set(next(line for line in text.splitlines() if line.startswith("flags")).split(":")[1].split())


def _cpu_model() -> str:
    text = Path("/proc/cpuinfo").read_text()
    return next(line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name"))


def _speech_clip(folder: Path, sentences: tuple[str, ...]) -> Path:
    """espeak-ng sentences through the sample video's AAC track, decoded as the worker decodes it."""
    from tests.helpers.speech import make_speech_video
    from vidsafe.workers.speech import decode_audio

    video = folder / "speech.mp4"
    make_speech_video(video, sentences)
    audio, _ = decode_audio(video, until_s=float("inf"))
    clip = folder / "clip.npy"
    np.save(clip, audio)
    return clip


def ctranslate2_spread(python: Path, folder: Path) -> list[str]:
    flags = _cpu_flags()
    available = [isa for isa in ISAS if isa == "GENERIC" or isa.lower() in flags or
                 (isa == "AVX512" and "avx512f" in flags)]
    logprob_spread, time_spread, identical = 0.0, 0.0, True
    for sentences in SENTENCES:
        runs = _whisper_runs(python, _speech_clip(folder, sentences), available)
        identical &= len({tuple(p[0] for p in run) for run in runs}) == 1
        logprob_spread = max(logprob_spread, np.ptp([[p[3] for p in run] for run in runs], axis=0).max())
        time_spread = max(time_spread, np.ptp([[t for p in run for t in p[1:3]] for run in runs], axis=0).max())
    # The speech tests' second of silence (before the first sentence), which Whisper answers with a hallucination
    # of low confidence (avg_logprob below its log_prob_threshold, -1); the text itself may change with the path.
    silence = folder / "silence.npy"
    np.save(silence, np.load(_speech_clip(folder, SENTENCES[-1]))[:16000])
    silent_runs = _whisper_runs(python, silence, available)
    silent_logprobs = [run[0][3] for run in silent_runs if run]
    paths = f"CTranslate2 {', '.join(available)} x 1, 2 threads, on each sentence of the speech tests"
    return [f"| {paths} | speech_to_text | avg_logprob | {logprob_spread:.2e} |",
            f"| | | segment times (s) | {time_spread:.2e} |",
            f"| | | transcripts | {'identical' if identical else 'DIFFERENT'} |",
            f"| the same paths, on the tests' second of silence | speech_to_text | avg_logprob (all below "
            f"{max(silent_logprobs):.2f}) | {np.ptp(silent_logprobs):.2e} |",
            *_batching_spread(python, folder)]


def _whisper_runs(python: Path, clip: Path, isas: list[str]) -> list[list]:
    runs = []
    for isa in isas:
        for threads in (1, 2):
            out = subprocess.run([str(python), "-c", WHISPER_RUN, str(REPOSITORY / "speech_to_text/1/whisper"),
                                  str(threads), str(clip)], env={**os.environ, "CT2_FORCE_CPU_ISA": isa},
                                 capture_output=True, text=True, check=True).stdout
            runs.append(json.loads(out))
    return runs


def _batching_spread(python: Path, folder: Path) -> list[str]:
    """Each clip of the speech tests (the sentences, and their last three quarters) alone vs all in one batch."""
    clips = []
    for k, sentences in enumerate(SENTENCES):
        clip = np.load(_speech_clip(folder, sentences))
        for part, audio in enumerate((clip, clip[len(clip) // 4:])):
            clips.append(folder / f"batch-{k}-{part}.npy")
            np.save(clips[-1], audio)
    out = subprocess.run([str(python), "-c", WHISPER_BATCH_RUN, str(REPOSITORY / "speech_to_text/1/whisper"),
                          *map(str, clips)], capture_output=True, text=True, check=True).stdout
    alone, batched = json.loads(out)
    pairs = [(a, b) for clip_a, clip_b in zip(alone, batched, strict=True)
             for a, b in zip(clip_a, clip_b, strict=True)]
    times = max(abs(x - y) for a, b in pairs for x, y in zip(a[:2], b[:2], strict=True))
    logprobs = max(abs(a[2] - b[2]) for a, b in pairs)
    return [f"| faster-whisper, each clip alone vs {len(clips)} clips in one batch | speech_to_text | "
            f"segment times (s) | {times:.2e} |",
            f"| | | avg_logprob | {logprobs:.2e} |"]


def onnx_runtime_spread() -> list[str]:
    rows = []
    for model_file, inputs in ONNX_INPUTS.items():
        outputs = []
        for threads in (1, 2, 4):
            for level in (ort.GraphOptimizationLevel.ORT_ENABLE_ALL, ort.GraphOptimizationLevel.ORT_DISABLE_ALL):
                options = ort.SessionOptions()
                options.intra_op_num_threads, options.graph_optimization_level = threads, level
                session = ort.InferenceSession(str(REPOSITORY / model_file), options,
                                               providers=["CPUExecutionProvider"])
                outputs.append(session.run(None, inputs))
        spreads = [max(float(np.abs(run[k] - outputs[0][k]).max()) for run in outputs)
                   for k in range(len(outputs[0]))]
        rows.append(f"| ONNX Runtime {ort.__version__}, 1/2/4 threads x all/no optimisations | {model_file} | "
                    f"every output (max abs) | {max(spreads):.2e} |")
    return rows


def litert_spread(python: Path, folder: Path) -> list[str]:
    crop = folder / "crop.npy"
    np.save(crop, (np.resize(ASTRONAUT, (256, 256, 3)) / 255.0).astype(np.float32)[None])
    runs = []
    for threads in (1, 2):
        for resolver in ("AUTO", "BUILTIN_WITHOUT_DEFAULT_DELEGATES", "BUILTIN_REF"):
            out = subprocess.run([str(python), "-c", LITERT_RUN, str(REPOSITORY / "pose/1/pose_landmark_full.tflite"),
                                  str(threads), resolver, str(crop)], capture_output=True, text=True, check=True).stdout
            runs.append(json.loads(out))
    rows = []
    for name in sorted(runs[0]):
        values = np.array([run[name] for run in runs])
        rows.append(f"| LiteRT, 1/2 threads x XNNPACK/builtin/reference kernels | pose landmarks | {name} | "
                    f"{np.ptp(values, axis=0).max():.2e} |")
    return rows


def main() -> None:
    settings = get_settings()
    python = ensure_model_env(settings) / "python"
    started = time.time()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        rows = ctranslate2_spread(python, folder) + onnx_runtime_spread() + litert_spread(python, folder)
    lines = ["# Numeric spread of the references across CPU paths", "",
             f"Measured by `python -m benchmarks.numeric_spread` on {_cpu_model()} ({os.cpu_count()} CPUs, "
             f"{platform.machine()}), {time.strftime('%Y-%m-%d')}, in {time.time() - started:.0f} s. Each row: the "
             "largest difference between runs of one reference on the same input along the paths named. The "
             "tests' tolerances (tests/stack/models/) are set above these, with the margin each test's docstring "
             "gives.",
             "", "| paths | model | output | spread |", "|---|---|---|---|", *rows]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"written to {RESULTS}", file=sys.stderr)


if __name__ == "__main__":
    main()
