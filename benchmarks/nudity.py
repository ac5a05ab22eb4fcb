"""Nudity detection throughput: served by Triton vs. the reference package in-process, in one run.

    .venv/bin/python -m benchmarks.nudity [--frames 96]

Starts the local Triton if needed, decodes frames of the sample video once, then times
1. ``nudenet.NudeDetector.detect`` in this process, one frame at a time (the package's own usage);
2. the ``nudity`` ensemble over gRPC, one frame per request, one request at a time;
3. the ensemble as the worker calls it: 8 frames per request, 4 requests in flight;
4. Triton's own ``perf_analyzer`` (from the pinned tritonclient 2.51 wheel) at concurrency 1 and 4.
It prints the ratios and writes them to ``benchmarks/results/nudity.md`` (linked from the README).
Numbers depend on the machine; the file says which one they came from.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from vidsafe.catalogue import Module, triton_model
from vidsafe.deploy import stack
from vidsafe.deploy.tritonserver import ensure_tritonserver
from vidsafe.export.sample_video import make_sample_video
from vidsafe.media.decoding import sample_frames
from vidsafe.packages import fetch_wheel
from vidsafe.settings import Settings, get_settings
from vidsafe.triton import TritonClient
from vidsafe.workers.nudity import NudityStage

RESULTS = Path(__file__).with_name("results") / "nudity.md"
ENSEMBLE = triton_model(Module.nudity, "frames")
OUTPUTS = NudityStage.outputs
TRITONCLIENT_VERSION = "2.51.0"
TRITONCLIENT_WHEEL_SHA256 = "c485bb0123bdf310f90bc8b03d3489b28df2ffed55b30c7eee0b795b48113d52"


def _timed(run: Callable[[], object], frames: int) -> float:
    """Frames per second of ``run`` (after one warm-up call)."""
    run()
    start = time.perf_counter()
    run()
    return frames / (time.perf_counter() - start)


def _served(client: TritonClient, frames: list[np.ndarray], batch: int, in_flight: int) -> None:
    requests = ((None, {"IMAGE": np.stack(frames[i:i + batch])}) for i in range(0, len(frames), batch))
    for _ in client.infer_pipelined(ENSEMBLE, requests, OUTPUTS, in_flight):
        pass


def ensure_perf_analyzer(settings: Settings) -> tuple[Path, dict[str, str]]:
    """perf_analyzer from the tritonclient 2.51 wheel, with the two libraries it lacks linked in from
    the tritonserver wheel's bundle."""
    root = settings.cache_dir / f"perf_analyzer-{TRITONCLIENT_VERSION}"
    binary = root / "perf_analyzer"
    if not binary.exists():
        wheel = fetch_wheel("tritonclient", TRITONCLIENT_VERSION, TRITONCLIENT_WHEEL_SHA256, settings.cache_dir)
        root.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as archive:
            binary.write_bytes(archive.read(f"tritonclient-{TRITONCLIENT_VERSION}.data/data/bin/perf_analyzer"))
        binary.chmod(0o755)
    libs = root / "lib"
    libs.mkdir(exist_ok=True)
    bundled = ensure_tritonserver(settings).libs_dir
    for plain, pattern in (("libb64.so.0d", "libb64-*.so.0d"), ("libcudart.so.12", "libcudart-*.so.12*")):
        link = libs / plain
        if not link.is_symlink():
            link.symlink_to(next(bundled.glob(pattern)))
    return binary, {**os.environ, "LD_LIBRARY_PATH": str(libs)}


def perf_analyzer(settings: Settings, shape: tuple[int, ...]) -> dict[int, float]:
    """Inferences per second at concurrency 1 and 4, one frame per request, random frames."""
    binary, env = ensure_perf_analyzer(settings)
    with tempfile.TemporaryDirectory() as scratch:
        output = subprocess.run(
            [str(binary), "-m", ENSEMBLE, "-i", "grpc", "-u", settings.effective_triton_url,
             "--shape", f"IMAGE:{','.join(map(str, shape))}", "--concurrency-range", "1:4:3",
             "--measurement-interval", "4000", "-f", f"{scratch}/perf.csv"],
            env=env, capture_output=True, text=True, check=True, timeout=300,
        ).stdout
    return {int(c): float(t) for c, t in re.findall(r"Concurrency: (\d+), throughput: ([\d.]+) infer/sec", output)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=96, help="frames per timed run (default 96)")
    args = parser.parse_args()

    settings = get_settings()
    started = stack.up(settings, ["triton"])
    try:
        lines = run(settings, args.frames)
    finally:
        stack.down(settings, started)
    print("\n".join(lines))
    print(f"\nwritten to {RESULTS}")


def run(settings: Settings, frame_count: int) -> list[str]:
    with tempfile.TemporaryDirectory() as scratch:
        video = make_sample_video(Path(scratch) / "sample.mp4")
        decoded = [f.rgb for f in sample_frames(video, 25.0, 640, 360)]
    frames = [decoded[i % len(decoded)] for i in range(frame_count)]

    from nudenet import NudeDetector  # the reference: a dev dependency, not needed by the service

    detector = NudeDetector()
    bgr = [np.ascontiguousarray(f[..., ::-1]) for f in frames]
    results: dict[str, float] = {"in-process nudenet, 1 frame at a time": _timed(
        lambda: [detector.detect(f) for f in bgr], len(frames))}
    with TritonClient(settings.effective_triton_url) as client:
        before = client.statistics("nudity_detector")["model_stats"][0]
        results["Triton ensemble, 1 frame per request, 1 in flight"] = _timed(
            lambda: _served(client, frames, batch=1, in_flight=1), len(frames))
        results["Triton ensemble, 8 frames per request, 4 in flight (the worker's way)"] = _timed(
            lambda: _served(client, frames, batch=settings.infer_batch_frames, in_flight=settings.infer_in_flight),
            len(frames))
        after = client.statistics("nudity_detector")["model_stats"][0]
    for concurrency, throughput in perf_analyzer(settings, (360, 640, 3)).items():
        results[f"perf_analyzer, 1 frame per request, concurrency {concurrency}"] = throughput
    executions = int(after.get("execution_count", 0)) - int(before.get("execution_count", 0))
    inferences = int(after.get("inference_count", 0)) - int(before.get("inference_count", 0))

    baseline = next(iter(results.values()))
    lines = [
        "# Nudity detection throughput",
        "",
        f"Measured by `python -m benchmarks.nudity` on {platform.node()} ({os.cpu_count()} CPUs, "
        f"{platform.machine()}), {time.strftime('%Y-%m-%d')}, cpu profile, 640x360 frames of the sample video, "
        f"{len(frames)} frames a run.",
        "",
        "| how | frames/s | vs. in-process |",
        "|---|---|---|",
        *[f"| {name} | {fps:.1f} | {fps / baseline:.2f}x |" for name, fps in results.items()],
        "",
        f"Triton's detector ran {inferences} frames in {executions} executions during the gRPC runs "
        f"(average batch {inferences / max(executions, 1):.1f}).",
    ]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    RESULTS.with_suffix(".json").write_text(json.dumps(
        {"frames": len(frames), "frames_per_second": results, "detector_executions": executions,
         "detector_inferences": inferences}, indent=2) + "\n")
    return lines


if __name__ == "__main__":
    main()
