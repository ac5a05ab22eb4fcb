"""End-to-end speed: the benchmark video through vidsafe, against the naive script a user would write instead.

    .venv/bin/python -m benchmarks.e2e [--skip-naive] [--speech-model base]

Generates the 60 s 1280x720 video of ``benchmarks/bench_video.py``, starts a stack of its own (in a temporary
folder, on free ports, with this deployment's settings otherwise), and measures in one run:
1. vidsafe with every offline module at 2 fps, adaptive sampling on (the default): wall time from upload to the
   job's end, the per-stage breakdown (the worker's stage metrics, each Triton model's compute time), how many
   frames each module ran on;
2. the same with adaptive sampling off (every module on every sampled frame), the reference for recall;
3. the naive way (PyAV, then nudenet, RapidOCR, OpenCV YuNet + SFace per frame, faster-whisper on the audio,
   sequentially in this process; no pose, which has no such package here);
4. PySceneDetect's ContentDetector on the same file, against vidsafe's shots and the true cuts.
Recall is of the planted content (the true cuts, the captions, the returning face, the sentences) and of every
segment the full-rate run found; the share of the job's time spent judging what is said and written (the text
module). Prints the table and writes ``benchmarks/results/e2e.md`` and ``e2e.json`` (with ``--speech-model``, another
Whisper than the settings' is exported into a copy of the model repository: ``e2e-speech-<model>.md``).
Numbers depend on the machine; the file says which one they came from.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import av
import cv2
import httpx
import jiwer
from prometheus_client.parser import text_string_to_metric_families

from benchmarks.bench_video import CAPTIONS, SCENES, SPEECH, make_bench_video
from tests.helpers.speech import speech_repository
from tests.helpers.support import isolated_settings
from vidsafe.apikeys import local_key_path
from vidsafe.catalogue import Module
from vidsafe.client import GatewayClient
from vidsafe.deploy import stack
from vidsafe.domain.findings import Segment
from vidsafe.domain.jobs import Job, JobOptions
from vidsafe.export.models import export_models
from vidsafe.export.sample_video import Speech
from vidsafe.settings import Settings, get_settings
from vidsafe.triton import TritonClient

RESULTS = Path(__file__).with_name("results") / "e2e.md"
FPS = 2.0
OFFLINE_MODULES = [Module.nudity, Module.ocr, Module.faces, Module.pose, Module.speech, Module.text_embeddings,
                   Module.restraint, Module.shots, Module.known_content, Module.text]
CUT_TOLERANCE_S = 0.2


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU")
    flags = Path("/proc/cpuinfo").read_text()
    simd = "AVX-512" if " avx512f" in flags else "AVX2" if " avx2" in flags else "no AVX2"
    simd += ", VNNI" if " avx512_vnni" in flags or " avx_vnni" in flags else ""
    return f"{cpu}, {os.cpu_count()} cores ({simd}), {platform.machine()}"


def publish(results: Path, lines: list[str]) -> None:
    """Print a benchmark's markdown lines and write them to its results file."""
    results.parent.mkdir(exist_ok=True)
    results.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwritten to {results}")


# ---- vidsafe ---------------------------------------------------------------------------------------

def _worker_stages(settings: Settings) -> dict[str, float]:
    text = httpx.get(f"http://127.0.0.1:{settings.worker_metrics_port}/metrics", timeout=10).text
    return {f"{s.labels['module']}/{s.labels['stage']}": s.value
            for family in text_string_to_metric_families(text) if family.name == "vidsafe_stage_duration_seconds"
            for s in family.samples if s.name.endswith("_sum")}


def _triton_compute(settings: Settings) -> dict[str, dict[str, float]]:
    with TritonClient(settings.effective_triton_url) as client:
        stats = client.statistics("")
    return {m["name"]: {"inferences": int(m.get("inference_count", 0)), "executions": int(m.get("execution_count", 0)),
                        "compute_s": int(m["inference_stats"]["compute_infer"].get("ns", 0)) / 1e9,
                        "queue_s": int(m["inference_stats"]["queue"].get("ns", 0)) / 1e9}
            for m in stats["model_stats"]}


def _difference(after: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    if isinstance(next(iter(after.values()), 0.0), dict):
        return {k: _difference(v, before.get(k, {})) for k, v in after.items()}
    return {k: v - before.get(k, 0) for k, v in after.items()}


def run_vidsafe(settings: Settings, video: Path) -> dict[str, Any]:
    """One job of the video, timed from the upload's start to its end, with what each stage spent meanwhile."""
    key = local_key_path(settings).read_text().strip()
    stages, compute = _worker_stages(settings), _triton_compute(settings)
    with GatewayClient(settings.gateway_url, key) as client:
        started = time.perf_counter()
        job = client.upload(video, {"start": "true"}, options=JobOptions(modules=OFFLINE_MODULES, sample_fps=FPS))
        while not (job := client.job(str(job.id))).status.is_final:
            time.sleep(0.2)
        wall = time.perf_counter() - started
        segments = client.segments(str(job.id)).segments
        findings = client.findings(str(job.id)).findings
    assert job.status == "succeeded", f"{job.status}: {job.error_code} {job.error_message}"
    log = (settings.state_dir / "logs" / "worker.log").read_text()
    ran = re.findall(r"(\w+) ran on (\d+)", log.rsplit(f"job {job.id}: chunk", 1)[-1].split("\n", 1)[0])
    return {"job": job, "wall_s": wall, "segments": segments,
            "carried": sum(1 for f in findings if "carried_from" in f.attributes),
            "heard": " ".join(f.text or "" for f in sorted(findings, key=lambda f: f.timestamp_s)
                              if f.module == Module.speech),
            "stages": _difference(_worker_stages(settings), stages),
            "triton": _difference(_triton_compute(settings), compute), "frames_run": dict(ran)}


# ---- the naive way -------------------------------------------------------------------------------

def run_naive(settings: Settings, video: Path) -> dict[str, Any]:
    """What a user would write without vidsafe, one frame at a time, in this process."""
    from faster_whisper import WhisperModel
    from nudenet import NudeDetector
    from rapidocr_onnxruntime import RapidOCR

    repository = settings.model_repository
    spent = dict.fromkeys(("load", "decode", "nudity", "ocr", "faces", "speech"), 0.0)
    found: dict[str, list[Any]] = {"ocr": [], "faces": [], "speech": []}
    total = time.perf_counter()
    clock = time.perf_counter()
    nudity, ocr = NudeDetector(), RapidOCR()
    recognizer = cv2.FaceRecognizerSF.create(str(repository / "face_embedder/1/model.onnx"), "")
    whisper = WhisperModel(str(repository / "speech_to_text/1/whisper"), device="cpu", compute_type="int8")
    spent["load"] = time.perf_counter() - clock
    detector = None
    with av.open(str(video)) as container:
        next_time = 0.0
        clock = time.perf_counter()
        for frame in container.decode(video=0):
            if frame.time is None or frame.time + 1e-6 < next_time:
                continue
            next_time += 1 / FPS
            bgr = frame.to_ndarray(format="bgr24")
            spent["decode"] += time.perf_counter() - clock
            clock = time.perf_counter()
            nudity.detect(bgr)
            spent["nudity"] += time.perf_counter() - clock
            clock = time.perf_counter()
            lines, _ = ocr(bgr)
            found["ocr"] += [(frame.time, text) for _, text, _ in lines or []]
            spent["ocr"] += time.perf_counter() - clock
            clock = time.perf_counter()
            height, width = bgr.shape[:2]
            if detector is None:
                detector = cv2.FaceDetectorYN.create(str(repository / "face_detector/1/model.onnx"), "",
                                                     (width, height), 0.6, 0.3, 5000)
            faces = detector.detect(bgr)[1]
            for face in [] if faces is None else faces:
                recognizer.feature(recognizer.alignCrop(bgr, face))
                found["faces"].append(frame.time)
            spent["faces"] += time.perf_counter() - clock
            clock = time.perf_counter()
    clock = time.perf_counter()
    segments, _ = whisper.transcribe(str(video), beam_size=5, vad_filter=True, language="en")
    found["speech"] = [(s.start, s.text.strip()) for s in segments]
    spent["speech"] = time.perf_counter() - clock
    return {"wall_s": time.perf_counter() - total, "spent": spent, "found": found}


# ---- recall --------------------------------------------------------------------------------------

def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def word_error_rate(heard: str, spoken: Sequence[Speech] = SPEECH) -> float:
    """Of ``heard`` against the ``spoken`` sentences (the benchmark video's), as words (case and punctuation
    aside)."""
    return jiwer.wer(" ".join(w for s in spoken for w in _words(s.sentence)), " ".join(_words(heard)))


def true_cuts() -> list[float]:
    return [scene.start_s for scene in SCENES[1:]]


def planted_recall(segments: list[Segment]) -> dict[str, tuple[int, int]]:
    """(found, planted) for each kind of planted content."""
    shots = [s.start_s for s in segments if s.module == Module.shots]
    texts = [(s, s.label.removeprefix("text: ")) for s in segments if s.module == Module.ocr]
    faces = [s for s in segments if s.module == Module.faces]
    spoken = " ".join(s.label.removeprefix("speech: ") for s in segments if s.module == Module.speech)
    captions = [(c.text, c.start_s, c.end_s) for c in CAPTIONS] + \
        [(s.caption, s.start_s, s.end_s) for s in SCENES if s.caption]

    def caption_found(text: str, start: float, end: float) -> bool:
        # A ticker's start may be cut off at the frame's edge: most of its words, in the caption's time.
        return any(s.start_s < end and s.end_s + 1 / FPS > start
                   and len(set(_words(text)) & set(_words(read))) >= 0.75 * len(_words(text)) for s, read in texts)

    astronaut = [s for s in SCENES if s.photo == "astronaut"]
    heard = set(_words(spoken))
    return {
        "cuts": (sum(any(abs(cut - s) <= CUT_TOLERANCE_S for s in shots) for cut in true_cuts()), len(true_cuts())),
        "captions": (sum(caption_found(*c) for c in captions), len(captions)),
        "returning face": (sum(any(f.start_s < s.end_s and f.end_s >= s.start_s for f in faces) for s in astronaut),
                           len(astronaut)),
        "spoken words": (sum(w in heard for s in SPEECH for w in _words(s.sentence)),
                         sum(len(_words(s.sentence)) for s in SPEECH)),
    }


def segment_recall(adaptive: list[Segment], full: list[Segment]) -> tuple[int, int, list[str]]:
    """How many of the full-rate run's frame segments the adaptive run has too (same module and label,
    overlapping in time); the ones it lacks."""
    frame_modules = {Module.nudity, Module.ocr, Module.faces, Module.pose, Module.restraint}
    wanted = [s for s in full if s.module in frame_modules]
    lost = [s for s in wanted if not any(a.module == s.module and a.label == s.label and a.start_s <= s.end_s + 0.5
                                         and a.end_s >= s.start_s - 0.5 for a in adaptive)]
    return len(wanted) - len(lost), len(wanted), [f"{s.module} {s.label} {s.start_s:.1f}-{s.end_s:.1f}" for s in lost]


def scenedetect_cuts(video: Path) -> tuple[list[float], float]:
    from scenedetect import ContentDetector, detect

    started = time.perf_counter()
    scenes = detect(str(video), ContentDetector())
    return [round(start.seconds, 2) for start, _ in scenes[1:]], time.perf_counter() - started


def compare_cuts(found: list[float]) -> tuple[int, int]:
    """(true cuts found, cuts found that are no true cut)."""
    truth = true_cuts()
    return (sum(any(abs(cut - f) <= CUT_TOLERANCE_S for f in found) for cut in truth),
            sum(not any(abs(cut - f) <= CUT_TOLERANCE_S for cut in truth) for f in found))


# ---- the run -------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-naive", action="store_true", help="leave out the naive script (about a minute)")
    parser.add_argument("--speech-model", choices=["tiny.en", "base"], help="the Whisper to serve, exported into a "
                        "copy of the model repository (default: the settings', as exported)")
    args = parser.parse_args()
    base = get_settings()
    with tempfile.TemporaryDirectory(prefix="vidsafe-bench-") as scratch:
        root = Path(scratch)
        video = make_bench_video(root / "bench.mp4")
        overrides: dict[str, Any] = {}
        if args.speech_model is not None:
            overrides = {"model_repository": repository_with_speech(base.model_repository, root / "repository"),
                         "speech_model": args.speech_model}
        settings = isolated_settings(root / "state", **(base.model_dump(
            exclude={"state_dir", "postgres_port", "redis_port", "triton_grpc_port", "triton_http_port",
                     "triton_metrics_port", "gateway_port", "worker_metrics_port", "ui_port"},
            exclude_unset=True) | overrides))
        if args.speech_model is not None:
            export_models(settings, [str(Module.speech)])
        full_settings = settings.model_copy(update={"carry_over_change": {}})
        stack.up(settings)
        try:
            run_vidsafe(settings, video)  # warm-up: the models' first calls allocate their memory
            adaptive = run_vidsafe(settings, video)
            stack.down(settings, ["worker"])
            stack.up(full_settings, ["worker"])
            full = run_vidsafe(full_settings, video)
        finally:
            stack.down(settings)
        naive = None if args.skip_naive else run_naive(settings, video)
        detected, scenedetect_s = scenedetect_cuts(video)
    results = RESULTS if args.speech_model is None else RESULTS.with_name(f"e2e-speech-{args.speech_model}.md")
    publish(results, report(settings, adaptive, full, naive, detected, scenedetect_s, results))


def repository_with_speech(source: Path, copy: Path) -> Path:
    """A copy of the model repository whose speech models are left to export again (every other file a link)."""
    speech_repository(source, copy)
    for model in source.iterdir():
        if model.is_dir() and not (copy / model.name).exists():
            shutil.copytree(model, copy / model.name, copy_function=os.symlink,
                            ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def report(settings: Settings, adaptive: dict[str, Any], full: dict[str, Any], naive: dict[str, Any] | None,
           detected: list[float], scenedetect_s: float, results: Path) -> list[str]:
    job: Job = adaptive["job"]
    duration = job.media.duration_s if job.media else 60.0
    speed = {"vidsafe (adaptive sampling)": duration / adaptive["wall_s"],
             "vidsafe, every module on every sampled frame": duration / full["wall_s"]}
    if naive is not None:
        speed["naive script (no pose)"] = duration / naive["wall_s"]
    recall = planted_recall(adaptive["segments"])
    kept, wanted, lost = segment_recall(adaptive["segments"], full["segments"])
    ours = [s.start_s for s in adaptive["segments"] if s.module == Module.shots][1:]
    heard = {f"vidsafe (Whisper {settings.speech_model} on Triton)": adaptive["heard"]}
    judging = adaptive["stages"].get("text/judge", 0.0)
    if naive is not None:
        heard["plain faster-whisper (transcribe, beam 5, VAD)"] = " ".join(text for _, text in naive["found"]["speech"])
    lines = [
        "# End-to-end speed",
        "",
        f"Measured by `python -m benchmarks.e2e` on {machine()}, {time.strftime('%Y-%m-%d')}, cpu profile. The video: "
        f"{duration:.0f} s of 1280x720 at 25 fps (`benchmarks/bench_video.py`: {len(SCENES)} shots panning and "
        f"zooming, {len(CAPTIONS) + sum(bool(s.caption) for s in SCENES)} captions, a returning face, "
        f"{len(SPEECH)} sentences); modules {', '.join(OFFLINE_MODULES)} at {FPS:g} fps.",
        "",
        "| run | wall s | video s per wall s |",
        "|---|---|---|",
        f"| vidsafe (adaptive sampling) | {adaptive['wall_s']:.1f} | {speed['vidsafe (adaptive sampling)']:.2f}x |",
        f"| vidsafe, every module on every sampled frame | {full['wall_s']:.1f} | "
        f"{speed['vidsafe, every module on every sampled frame']:.2f}x |",
    ]
    if naive is not None:
        lines.append(f"| naive script (no pose) | {naive['wall_s']:.1f} | {speed['naive script (no pose)']:.2f}x |")
        lines += ["", f"vidsafe / naive: **{naive['wall_s'] / adaptive['wall_s']:.2f}x** (target 3x); "
                  f"real time: **{speed['vidsafe (adaptive sampling)']:.2f}x** (target 2x)."]
    lines += ["", f"Judging what is said and written (the text module, after the frames and audio): **{judging:.2f} s, "
              f"{judging / adaptive['wall_s']:.1%} of the job's time** (target under 5%)."]
    lines += ["", "## Where the time went (adaptive run)", "",
              "Worker stages (seconds summed over the job's parts; frame batches overlap each other):", "",
              "| stage | s |", "|---|---|",
              *[f"| {name} | {seconds:.2f} |" for name, seconds in sorted(adaptive["stages"].items()) if seconds > 0],
              "", "Triton models (compute time inside Triton, queue time before it; parts overlap):", "",
              "| model | inferences | executions | compute s | queue s |", "|---|---|---|---|---|",
              *[f"| {name} | {s['inferences']} | {s['executions']} | {s['compute_s']:.2f} | {s['queue_s']:.2f} |"
                for name, s in sorted(adaptive["triton"].items()) if s["inferences"]],
              "", f"Frames each module ran on (of {job.frames_analyzed} sampled): "
              + ", ".join(f"{m} {n}" for m, n in adaptive["frames_run"].items())
              + f"; {adaptive['carried']} findings carried over."]
    if naive is not None:
        lines += ["", "Naive script: " + ", ".join(f"{k} {v:.1f} s" for k, v in naive["spent"].items()) + "."]
    truth_found, false_cuts = compare_cuts(detected)
    ours_found, ours_false = compare_cuts(ours)
    lines += ["", "## Recall", "",
              "| planted | found |", "|---|---|",
              *[f"| {name} | {found} of {total} |" for name, (found, total) in recall.items()],
              f"| segments of the full-rate run | {kept} of {wanted} |",
              "", f"Lost against the full-rate run: {', '.join(lost) or 'none'}.",
              "", "## Speech", "",
              "Word error rate against the spoken sentences (jiwer; lower case, punctuation dropped):", "",
              "| transcriber | WER | heard |", "|---|---|---|",
              *[f"| {name} | {word_error_rate(text):.3f} | {text} |" for name, text in heard.items()],
              "", "## Shots against PySceneDetect", "",
              "| detector | true cuts found | false cuts | time s |", "|---|---|---|---|",
              f"| vidsafe (while decoding) | {ours_found} of {len(true_cuts())} | {ours_false} | "
              f"{adaptive['stages'].get('all/decode', 0.0):.1f} (decoding included) |",
              f"| PySceneDetect ContentDetector (defaults) | {truth_found} of {len(true_cuts())} | {false_cuts} | "
              f"{scenedetect_s:.1f} |",
              "", f"ContentDetector's cuts: {detected}; vidsafe's: {[round(c, 2) for c in ours]}."]
    results.parent.mkdir(exist_ok=True)
    results.with_suffix(".json").write_text(json.dumps({
        "machine": machine(), "video_s": duration, "speed": speed,
        "wall_s": {"adaptive": adaptive["wall_s"], "full": full["wall_s"], "naive": naive and naive["wall_s"]},
        "stages": adaptive["stages"], "triton": adaptive["triton"], "frames_run": adaptive["frames_run"],
        "naive_spent": naive and naive["spent"], "recall": recall, "segments_kept": [kept, wanted],
        "scenedetect_cuts": detected, "vidsafe_cuts": ours,
        "word_error_rate": {name: word_error_rate(text) for name, text in heard.items()},
        "speech_model": settings.speech_model, "text_judging_s": judging}, indent=2) + "\n")
    return lines


if __name__ == "__main__":
    main()
