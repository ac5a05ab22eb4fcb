"""Served vs in-process, for every ONNX network of the cpu profile, on the same tensors; and perf_analyzer with
Triton's dynamic batching on and off. One run, one results file.

    .venv/bin/python -m benchmarks.served

Each network gets the tensors the pipeline sends it for the benchmark video's 1280x720 frames (real frames,
resized and laid out as its config says). Timed, each after a warm-up, as the median of 5 runs:
1. ONNX Runtime in this process (the session the python backend opens: the config's intra-op threads, one
   inter-op thread), one item per run, then batches of 8;
2. Triton over gRPC, one item per request, one request at a time; then 8 per request, 4 in flight (the worker's
   way); each with the tensors copied into the requests, and read from registered system shared memory;
3. Triton's ``perf_analyzer``, one item per request at concurrency 1 and 4, on a Triton serving the
   repository as it is and on one serving a copy whose configs lack ``dynamic_batching``.
Writes ``benchmarks/results/served.md`` (linked from the README). Numbers depend on the machine; the file says
which one they came from.
"""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from functools import partial
from multiprocessing import shared_memory
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
from tritonclient.grpc.model_config_pb2 import ModelConfig

from benchmarks.bench_video import make_bench_video
from benchmarks.e2e import machine, publish
from benchmarks.nudity import ensure_perf_analyzer
from tests.helpers.support import isolated_settings
from vidsafe.deploy import stack
from vidsafe.export.profiles import CPU_CONFIG, read_config, render
from vidsafe.media.decoding import sample_frames
from vidsafe.settings import Settings, get_settings
from vidsafe.triton import SharedTensor, TritonClient

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
REPEATS = 5
BATCH, IN_FLIGHT = 8, 4
CONCURRENCY = (1, 4)


def items(frames: list[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    _, height, width = shape
    return np.stack([cv2.resize(frames[i % len(frames)], (width, height)).transpose(2, 0, 1).astype(np.float32)
                     / 255.0 for i in range(ITEMS)])


def per_second(run: Callable[[], object]) -> float:
    """Items per second of ``run`` (``ITEMS`` items), the median of ``REPEATS`` timed runs after a warm-up: one run
    moves by tens of percent on a shared 2-core machine."""
    run()
    rates = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        run()
        rates.append(ITEMS / (time.perf_counter() - started))
    return statistics.median(rates)


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
    """Items per second served, the tensors copied into each request (``grpc_*``) and read from a registered
    shared-memory region (``shm_*``, the worker's way with frames)."""
    config = read_config(settings.model_repository / network / CPU_CONFIG)
    name, outputs = config.input[0].name, [output.name for output in config.output]
    memory = shared_memory.SharedMemory(f"vidsafe_bench_{network}", create=True, size=data.nbytes)
    np.ndarray(data.shape, data.dtype, memory.buf)[:] = data
    client.register_shared_memory(memory.name, f"/{memory.name}", data.nbytes)
    item_bytes = data[0].nbytes

    def tensor(start: int, batch: int, shared: bool) -> np.ndarray | SharedTensor:
        return SharedTensor(memory.name, start * item_bytes, (batch, *data.shape[1:]), data.dtype) if shared \
            else data[start:start + batch]

    def pipelined(batch: int, in_flight: int, shared: bool) -> None:
        requests = ((None, {name: tensor(i, batch, shared)}) for i in range(0, ITEMS, batch))
        for _ in client.infer_pipelined(network, requests, outputs, in_flight):
            pass

    try:
        return {f"{way}_{size}": per_second(partial(pipelined, batch, in_flight, way == "shm"))
                for way in ("grpc", "shm") for size, batch, in_flight in (("single", 1, 1),
                                                                          ("batched", BATCH, IN_FLIGHT))}
    finally:
        client.unregister_shared_memory(memory.name)
        memory.close()
        memory.unlink()


def perf_analyzer(settings: Settings, network: str) -> dict[int, tuple[float, float]]:
    """(inferences/s, p95 latency ms) at each concurrency, one random item per request."""
    binary, env = ensure_perf_analyzer(settings)
    shape = ",".join(map(str, NETWORKS[network]))
    config = read_config(settings.model_repository / network / CPU_CONFIG)
    with tempfile.TemporaryDirectory() as scratch:
        # Stable within 25% over 3 windows (the default 10% is rarely met on a busy 2-core machine).
        run = subprocess.run(
            [str(binary), "-m", network, "-i", "grpc", "-u", settings.effective_triton_url,
             "--shape", f"{config.input[0].name}:{shape}",
             "--concurrency-range", f"{CONCURRENCY[0]}:{CONCURRENCY[-1]}:{CONCURRENCY[-1] - CONCURRENCY[0]}",
             "--measurement-interval", "3000", "--stability-percentage", "25", "--max-trials", "10",
             "--percentile", "95", "-f", f"{scratch}/perf.csv"],
            env=env, capture_output=True, text=True, check=False, timeout=600,
        )
    if run.returncode != 0:  # the concurrencies measured before it gave up are kept; the table leaves out the rest
        print(f"perf_analyzer {network}: {(run.stderr or run.stdout).strip().splitlines()[-1:]}", flush=True)
    throughput = re.findall(r"Concurrency: (\d+), throughput: ([\d.]+) infer/sec, latency (\d+) usec", run.stdout)
    return {int(c): (float(t), int(latency) / 1000) for c, t, latency in throughput}


def repository_variant(repository: Path, copy: Path, edit: Callable[[ModelConfig], None]) -> Path:
    """A copy of the repository (its files linked, not copied) with every cpu config changed by ``edit``."""
    shutil.copytree(repository, copy, copy_function=lambda src, dst: Path(dst).symlink_to(Path(src).resolve()),
                    ignore=shutil.ignore_patterns("__pycache__"))
    for config_path in copy.glob(f"*/{CPU_CONFIG}"):
        config = read_config(config_path)
        edit(config)
        config_path.unlink()
        config_path.write_text(render(config))
    return copy


def without_dynamic_batching(repository: Path, copy: Path) -> Path:
    """A copy of the repository whose configs lack ``dynamic_batching``."""
    return repository_variant(repository, copy, lambda config: config.ClearField("dynamic_batching"))


def main() -> None:
    base = get_settings()
    lines = ["# Served vs in-process", "",
             f"Measured by `python -m benchmarks.served` on {machine()}, {time.strftime('%Y-%m-%d')}, cpu profile: "
             f"each ONNX network on the tensors the pipeline sends it for 1280x720 frames, {ITEMS} items a run, the "
             f"median of {REPEATS} runs.", "",
             "Served: the tensors copied into each gRPC request, and read from shared memory registered with Triton "
             "(the worker's way with frames); the ratios are shared memory's against in-process.", "",
             "| network | item | in-process 1/run | served 1/request: gRPC, shm | ratio | in-process 8/run | served "
             f"8/request, {IN_FLIGHT} in flight: gRPC, shm | ratio |", "|---|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory(prefix="vidsafe-served-") as scratch:
        root = Path(scratch)
        frames = [f.rgb for f in sample_frames(make_bench_video(root / "bench.mp4"), 0.5, 1280, 720)]
        tables: dict[str, dict[str, dict[int, tuple[float, float]]]] = {}
        for label, repository in (("on", base.model_repository),
                                  ("off", without_dynamic_batching(base.model_repository, root / "repository"))):
            settings = isolated_settings(root / f"state-{label}", model_repository=repository)
            stack.up(settings, ["triton"])
            try:
                if label == "on":
                    with TritonClient(settings.effective_triton_url) as client:
                        for network, shape in NETWORKS.items():
                            data = items(frames, shape)
                            local, remote = in_process(base, network, data), served(client, settings, network, data)
                            lines.append(
                                f"| {network} | {'x'.join(map(str, shape))} | {local['single']:.1f}/s | "
                                f"{remote['grpc_single']:.1f}/s, {remote['shm_single']:.1f}/s | "
                                f"{remote['shm_single'] / local['single']:.2f}x | {local['batched']:.1f}/s | "
                                f"{remote['grpc_batched']:.1f}/s, {remote['shm_batched']:.1f}/s | "
                                f"{remote['shm_batched'] / local['batched']:.2f}x |")
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
