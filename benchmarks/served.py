"""Served vs in-process, for every ONNX network of the cpu profile, on the same tensors; and perf_analyzer with
Triton's dynamic batching on and off. One run, one results file.

    .venv/bin/python -m benchmarks.served

Each network gets the tensors the pipeline sends it for the benchmark video's 1280x720 frames (real frames,
resized and laid out as its config says). Timed, each after a warm-up:
1. ONNX Runtime in this process (the session the python backend opens: the config's intra-op threads, one
   inter-op thread), one item per run, then batches of 8;
2. Triton over gRPC, one item per request, one request at a time; then 8 per request, 4 in flight (the worker's
   way);
3. Triton's ``perf_analyzer``, one item per request at concurrency 1 and 4, on a Triton serving the
   repository as it is and on one serving a copy whose configs lack ``dynamic_batching``.
Writes ``benchmarks/results/served.md`` (linked from the README). Numbers depend on the machine; the file says
which one they came from.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from benchmarks.bench_video import make_bench_video
from benchmarks.e2e import machine, publish
from benchmarks.nudity import ensure_perf_analyzer
from vidsafe.deploy import stack
from vidsafe.export.profiles import CPU_CONFIG, read_config, render
from vidsafe.settings import Settings, get_settings
from vidsafe.triton import TritonClient
from vidsafe.workers.sampling import sample_frames

RESULTS = Path(__file__).with_name("results") / "served.md"
# (network, one item's shape as the pipeline sends it for a 1280x720 frame)
NETWORKS = {
    "nudity_detector": (3, 320, 320),
    "face_detector": (3, 736, 1280),  # the frame, padded to multiples of 32
    "face_embedder": (3, 112, 112),  # one aligned face
    "ocr_det": (3, 736, 1312),  # shorter side to 736 (rapidocr's)
    "ocr_cls": (3, 48, 192),  # one text line
    "ocr_rec": (3, 48, 320),
}
ITEMS = 32  # per timed run
BATCH, IN_FLIGHT = 8, 4
CONCURRENCY = (1, 4)


def items(frames: list[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    _, height, width = shape
    return np.stack([cv2.resize(frames[i % len(frames)], (width, height)).transpose(2, 0, 1).astype(np.float32)
                     / 255.0 for i in range(ITEMS)])


def per_second(run: Callable[[], object]) -> float:
    run()
    started = time.perf_counter()
    run()
    return ITEMS / (time.perf_counter() - started)


def in_process(settings: Settings, network: str, data: np.ndarray) -> dict[str, float]:
    config = read_config(settings.model_repository / network / CPU_CONFIG)
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(config.parameters["intra_op_threads"].string_value or "2")
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(settings.model_repository / network / "1" / "model.onnx"), options,
                                   providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return {"single": per_second(lambda: [session.run(None, {name: data[i:i + 1]}) for i in range(ITEMS)]),
            "batched": per_second(lambda: [session.run(None, {name: data[i:i + BATCH]})
                                           for i in range(0, ITEMS, BATCH)])}


def served(client: TritonClient, settings: Settings, network: str, data: np.ndarray) -> dict[str, float]:
    config = read_config(settings.model_repository / network / CPU_CONFIG)
    name, outputs = config.input[0].name, [output.name for output in config.output]

    def pipelined(batch: int, in_flight: int) -> None:
        requests = ((None, {name: data[i:i + batch]}) for i in range(0, ITEMS, batch))
        for _ in client.infer_pipelined(network, requests, outputs, in_flight):
            pass

    return {"single": per_second(lambda: pipelined(1, 1)), "batched": per_second(lambda: pipelined(BATCH, IN_FLIGHT))}


def perf_analyzer(settings: Settings, network: str) -> dict[int, tuple[float, float]]:
    """(inferences/s, p95 latency ms) at each concurrency, one random item per request."""
    binary, env = ensure_perf_analyzer(settings)
    shape = ",".join(map(str, NETWORKS[network]))
    config = read_config(settings.model_repository / network / CPU_CONFIG)
    with tempfile.TemporaryDirectory() as scratch:
        output = subprocess.run(
            [str(binary), "-m", network, "-i", "grpc", "-u", settings.effective_triton_url,
             "--shape", f"{config.input[0].name}:{shape}",
             "--concurrency-range", f"{CONCURRENCY[0]}:{CONCURRENCY[-1]}:{CONCURRENCY[-1] - CONCURRENCY[0]}",
             "--measurement-interval", "3000", "--percentile", "95", "-f", f"{scratch}/perf.csv"],
            env=env, capture_output=True, text=True, check=True, timeout=600,
        ).stdout
    throughput = re.findall(r"Concurrency: (\d+), throughput: ([\d.]+) infer/sec, latency (\d+) usec", output)
    return {int(c): (float(t), int(latency) / 1000) for c, t, latency in throughput}


def without_dynamic_batching(repository: Path, copy: Path) -> Path:
    """A copy of the repository (its files linked, not copied) whose configs lack ``dynamic_batching``."""
    shutil.copytree(repository, copy, copy_function=lambda src, dst: Path(dst).symlink_to(Path(src).resolve()),
                    ignore=shutil.ignore_patterns("__pycache__"))
    for config_path in copy.glob(f"*/{CPU_CONFIG}"):
        config = read_config(config_path)
        config.ClearField("dynamic_batching")
        config_path.unlink()
        config_path.write_text(render(config))
    return copy


def main() -> None:
    base = get_settings()
    lines = ["# Served vs in-process", "",
             f"Measured by `python -m benchmarks.served` on {machine()}, {time.strftime('%Y-%m-%d')}, cpu profile: "
             f"each ONNX network on the tensors the pipeline sends it for 1280x720 frames, {ITEMS} items a run.", "",
             "| network | item | in-process 1/run | served 1/request | ratio | in-process 8/run | served 8/request, "
             f"{IN_FLIGHT} in flight | ratio |", "|---|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory(prefix="vidsafe-served-") as scratch:
        root = Path(scratch)
        frames = [f.rgb for f in sample_frames(make_bench_video(root / "bench.mp4"), 0.5, 1280, 720)]
        tables: dict[str, dict[str, dict[int, tuple[float, float]]]] = {}
        for label, repository in (("on", base.model_repository),
                                  ("off", without_dynamic_batching(base.model_repository, root / "repository"))):
            settings = stack.isolated_settings(root / f"state-{label}", model_repository=repository)
            stack.up(settings, ["triton"])
            try:
                if label == "on":
                    with TritonClient(settings.effective_triton_url) as client:
                        for network, shape in NETWORKS.items():
                            data = items(frames, shape)
                            local, remote = in_process(base, network, data), served(client, settings, network, data)
                            lines.append(
                                f"| {network} | {'x'.join(map(str, shape))} | {local['single']:.1f}/s | "
                                f"{remote['single']:.1f}/s | {remote['single'] / local['single']:.2f}x | "
                                f"{local['batched']:.1f}/s | {remote['batched']:.1f}/s | "
                                f"{remote['batched'] / local['batched']:.2f}x |")
                            print(lines[-1], flush=True)
                tables[label] = {network: perf_analyzer(settings, network) for network in NETWORKS}
            finally:
                stack.down(settings)
    lines += ["", "perf_analyzer (one item per request): inferences/s and p95 latency, dynamic batching on / off.", "",
              "| network | concurrency | on: infer/s | on: p95 ms | off: infer/s | off: p95 ms |",
              "|---|---|---|---|---|---|"]
    for network in NETWORKS:
        for concurrency in CONCURRENCY:
            on, off = tables["on"][network].get(concurrency), tables["off"][network].get(concurrency)
            if on and off:
                lines.append(f"| {network} | {concurrency} | {on[0]:.1f} | {on[1]:.0f} | {off[0]:.1f} | {off[1]:.0f} |")
    publish(RESULTS, lines)


if __name__ == "__main__":
    main()
