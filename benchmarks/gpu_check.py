"""The gpu profile against its references, on a Triton serving it (what ``deploy/gpu/check.sh`` runs on a GPU host):

    .venv/bin/python -m benchmarks.gpu_check --triton-url localhost:18001

1. Parity: every ONNX network served (TensorRT, fp16) against ONNX Runtime on the CPU in this process (the cpu
   profile's own session: the reference), on the tensors the pipeline sends it for the benchmark video's 1280x720
   frames; and the DALI preprocessing of every detector against the python code that the cpu profile runs. A
   network passes when its outputs are within ``TOLERANCES`` (fp16 keeps about three significant digits: scores
   and probabilities may move by a few hundredths, features keep their direction).
2. Speed: ``perf_analyzer`` on every network at concurrency 1 and 4, one item per request.

Writes ``benchmarks/results/gpu.md`` and exits non-zero when a network is out of tolerance. Run against the cpu
profile, every difference is zero (``tests/stack/test_gpu_check.py`` does that).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from benchmarks.bench_video import make_bench_video
from benchmarks.e2e import machine, publish
from benchmarks.served import NETWORKS, items, perf_analyzer
from vidsafe.export.profiles import CPU_CONFIG, read_config
from vidsafe.export.quantize import detector_inputs
from vidsafe.media.decoding import sample_frames
from vidsafe.settings import Settings, get_settings
from vidsafe.triton import TritonClient

RESULTS = Path(__file__).with_name("results") / "gpu.md"
PARITY_ITEMS = 8
# Largest absolute difference allowed per network output, and the least cosine similarity of each item's output.
TOLERANCES = {
    "nudity_detector": (0.05, 0.999),  # box coordinates in input pixels and class scores
    "face_detector": (0.05, 0.999),
    "face_embedder": (0.05, 0.999),  # the 128-d feature: its direction is what matching uses
    "ocr_det": (0.05, 0.999),  # text probability per pixel
    "ocr_cls": (0.02, 0.999),
    "ocr_rec": (0.05, 0.995),  # per-step character probabilities
    # The DALI preprocessing against the cpu profile's: one grey level in each one's scale, as their tests allow.
    "nudity_preprocess": (1 / 255, 0.999),
    "face_detector_preprocess": (1.0, 0.999),
    "ocr_det_preprocess": (1 / 127.5, 0.999),
}


@dataclass(frozen=True)
class Parity:
    network: str
    max_abs: float
    min_cosine: float

    @property
    def passed(self) -> bool:
        max_abs, min_cosine = TOLERANCES[self.network]
        return self.max_abs <= max_abs and self.min_cosine >= min_cosine


def _compare(network: str, expected: np.ndarray, served: np.ndarray) -> Parity:
    expected, served = expected.reshape(len(expected), -1).astype(np.float64), \
        served.reshape(len(served), -1).astype(np.float64)
    norms = np.linalg.norm(expected, axis=1) * np.linalg.norm(served, axis=1)
    # An all-but-zero output (no text anywhere in the frame) has no direction: its absolute difference decides.
    cosine = np.divide((expected * served).sum(axis=1), norms, out=np.ones(len(norms)), where=norms > 1e-6)
    return Parity(network, float(np.abs(expected - served).max()), float(cosine.min()))


def network_parity(client: TritonClient, repository: Path, network: str, data: np.ndarray) -> Parity:
    """The network's first output served against ONNX Runtime's on the CPU, for the same items."""
    config = read_config(repository / network / CPU_CONFIG)
    session = ort.InferenceSession(str(repository / network / "1" / "model.onnx"), providers=["CPUExecutionProvider"])
    output = config.output[0].name
    expected = session.run([output], {config.input[0].name: data})[0]
    served = client.infer(network, {config.input[0].name: data}, [output])[output]
    return _compare(network, expected, served)


def preprocess_parity(client: TritonClient, repository: Path, frames: list[np.ndarray]) -> list[Parity]:
    """The detectors' preprocessing models served (DALI in the gpu profile) against the cpu profile's python code."""
    inputs = detector_inputs()
    batch = np.stack(frames[:PARITY_ITEMS])

    def served(model: str, images: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
        tensors = {"IMAGE": images}
        if size is not None:
            tensors["SIZE"] = np.tile(np.array(size, dtype=np.int32), (len(images), 1))
        return client.infer(model, tensors, ["INPUT"])["INPUT"]

    max_side = int(read_config(repository / "faces" / CPU_CONFIG).parameters["max_side"].string_value)
    face_size = inputs.face_detector_size(*batch.shape[1:3], max_side)
    bgr = np.ascontiguousarray(batch[..., ::-1])  # what the ocr model hands its detector
    ocr_size = inputs.ocr_det_size(bgr[0])
    return [
        _compare("nudity_preprocess", inputs.nudity_input(batch)[0], served("nudity_preprocess", batch)),
        _compare("face_detector_preprocess", inputs.face_detector_blob(batch, face_size),
                 served("face_detector_preprocess", batch, face_size)),
        _compare("ocr_det_preprocess", inputs.ocr_det_blob(bgr, ocr_size), served("ocr_det_preprocess", bgr, ocr_size)),
    ]


def check(settings: Settings, frames: list[np.ndarray]) -> list[Parity]:
    repository = get_settings().model_repository
    with TritonClient(settings.effective_triton_url, settings.triton_timeout_s) as client:
        results = [network_parity(client, repository, network, items(frames, shape)[:PARITY_ITEMS])
                   for network, shape in NETWORKS.items()]
        results += preprocess_parity(client, repository, frames)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--triton-url", required=True, help="host:port of the Triton (gRPC) serving the gpu profile")
    parser.add_argument("--skip-perf", action="store_true", help="parity only, no perf_analyzer")
    args = parser.parse_args()
    settings = get_settings().model_copy(update={"triton_url": args.triton_url})
    with tempfile.TemporaryDirectory(prefix="vidsafe-gpu-check-") as scratch:
        frames = [f.rgb for f in sample_frames(make_bench_video(Path(scratch) / "bench.mp4"), 0.5, 1280, 720)]
        results = check(settings, frames)
    lines = ["# The gpu profile against its references", "",
             f"Measured by `deploy/gpu/check.sh` (`python -m benchmarks.gpu_check`) against Triton at "
             f"{args.triton_url}, from {machine()}, {time.strftime('%Y-%m-%d')}: each network served against ONNX "
             f"Runtime on the CPU, {PARITY_ITEMS} items of the benchmark video.", "",
             "| model | max abs difference | least cosine | tolerance | |", "|---|---|---|---|---|"]
    for result in results:
        max_abs, min_cosine = TOLERANCES[result.network]
        lines.append(f"| {result.network} | {result.max_abs:.4g} | {result.min_cosine:.5f} | <= {max_abs:g}, >= "
                     f"{min_cosine:g} | {'ok' if result.passed else 'OUT OF TOLERANCE'} |")
    if not args.skip_perf:
        lines += ["", "perf_analyzer, one item per request: inferences/s and p95 latency (ms).", "",
                  "| network | concurrency | infer/s | p95 ms |", "|---|---|---|---|"]
        for network in NETWORKS:
            for concurrency, (rate, p95) in sorted(perf_analyzer(settings, network).items()):
                lines.append(f"| {network} | {concurrency} | {rate:.1f} | {p95:.1f} |")
    publish(RESULTS, lines)
    sys.exit(0 if all(result.passed for result in results) else 1)


if __name__ == "__main__":
    main()
