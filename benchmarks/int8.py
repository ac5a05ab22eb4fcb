"""int8 detectors (VIDSAFE_DETECTOR_PRECISION=int8) against their fp32 reference: speed and accuracy, one run.

    .venv/bin/python -m benchmarks.int8 [--fps 1] [--images DIR]

Quantizes each of the catalogue's int8 networks from its exported fp32 file exactly as ``vidsafe export`` does
(export/quantize.py: calibrated on the bundled sample), into a scratch folder, then on the benchmark video's
frames (benchmarks/bench_video.py, 1280x720; most of its photos and all its captions are not in the calibration
set), or on the pictures of ``--images``:
1. times each network fp32 and int8 in this process, one single-threaded ONNX Runtime session each (as one
   Triton instance runs it), on the same inputs;
2. runs each network's reference pipeline twice, swapping only the network file: nudenet's ``NudeDetector``
   (detections matched by class at IoU >= 0.5: how many of fp32's int8 keeps, how many it adds, and how far
   the scores move) and rapidocr's ``RapidOCR`` (the text read in each frame, and the planted captions).
Writes ``benchmarks/results/int8.md``. No explicit imagery ships with vidsafe: the nudity figures cover the
classes these photos raise; rerun with ``--images`` on a team's own labelled material before relying on int8.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnxruntime as ort

from benchmarks.bench_video import CAPTIONS, SCENES, SIZE
from benchmarks.e2e import machine, publish
from vidsafe.catalogue import INT8_FILE, load_catalogue
from vidsafe.export.quantize import FP32_FILE, FP32_HEADS, network_inputs, quantize_network
from vidsafe.export.sample_video import render_frames
from vidsafe.settings import get_settings

RESULTS = Path(__file__).with_name("results") / "int8.md"
MIN_IOU = 0.5
PLANTED = [scene.caption for scene in SCENES if scene.caption] + [caption.text for caption in CAPTIONS]


def load_frames(fps: float, images: Path | None) -> tuple[list[np.ndarray], str]:
    """RGB frames, and what they are."""
    if images is None:
        frames = [frame for _, frame in render_frames(SCENES, CAPTIONS, SIZE, fps)]
        return frames, f"{len(frames)} frames of the benchmark video ({SIZE[0]}x{SIZE[1]}, {fps:g} fps)"
    paths = sorted(p for p in images.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png", ".webp", ".bmp"})
    frames = [cv2.cvtColor(image, cv2.COLOR_BGR2RGB) for p in paths if (image := cv2.imread(str(p))) is not None]
    return frames, f"{len(frames)} pictures of {images}"


def session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def seconds_per_frame(path: Path, inputs: list[np.ndarray]) -> float:
    network = session(path)
    name = network.get_inputs()[0].name
    network.run(None, {name: inputs[0]})  # the first run allocates
    started = time.perf_counter()
    for batch in inputs:
        network.run(None, {name: batch})
    return (time.perf_counter() - started) / len(inputs)


def iou(a: list[int], b: list[int]) -> float:
    """Of two [x, y, w, h] boxes."""
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(0, width) * max(0, height)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union else 0.0


def nudity_agreement(fp32: Path, int8: Path, frames: list[np.ndarray]) -> list[str]:
    from nudenet import NudeDetector

    found = {label: [NudeDetector(model_path=str(path)).detect(frame[..., ::-1].copy()) for frame in frames]
             for label, path in (("fp32", fp32), ("int8", int8))}
    kept, added, shifts = 0, 0, []
    for reference, quantized in zip(found["fp32"], found["int8"], strict=True):
        unmatched = list(quantized)
        for detection in reference:
            match = max((d for d in unmatched if d["class"] == detection["class"]),
                        key=lambda d: iou(d["box"], detection["box"]), default=None)
            if match is not None and iou(match["box"], detection["box"]) >= MIN_IOU:
                unmatched.remove(match)
                kept += 1
                shifts.append(abs(match["score"] - detection["score"]))
        added += len(unmatched)
    total = sum(len(f) for f in found["fp32"])
    classes = sorted({d["class"] for f in found["fp32"] for d in f})
    return [f"| nudity_detector | detections kept | {kept} of {total} | {kept / max(total, 1):.1%} |",
            f"| nudity_detector | detections added | {added} | |",
            f"| nudity_detector | score change of a kept detection (mean, max) | "
            f"{np.mean(shifts) if shifts else 0:.3f}, {max(shifts, default=0):.3f} | |",
            f"| nudity_detector | classes seen (fp32) | {', '.join(classes) or 'none'} | |"]


def _text(lines: Any) -> str:
    """What RapidOCR read in a frame, without spaces: it drops most of them itself (vidsafe restores them)."""
    return "".join(text for _, text, _ in lines or []).replace(" ", "").upper()


def ocr_agreement(fp32: Path, int8: Path, frames: list[np.ndarray], planted: bool) -> list[str]:
    import jiwer
    from rapidocr_onnxruntime import RapidOCR

    read = {label: [_text(RapidOCR(det_model_path=str(path))(frame[..., ::-1].copy())[0]) for frame in frames]
            for label, path in (("fp32", fp32), ("int8", int8))}
    same = sum(a == b for a, b in zip(read["fp32"], read["int8"], strict=True))
    characters = sum(len(text) for text in read["fp32"])
    rows = [f"| ocr_det | frames whose text RapidOCR reads the same | {same} of {len(frames)} | "
            f"{same / len(frames):.1%} |",
            f"| ocr_det | character error rate of int8's text against fp32's ({characters} characters) | "
            f"{jiwer.cer('|'.join(read['fp32']), '|'.join(read['int8'])):.3f} | |"]
    if planted:
        for label in ("fp32", "int8"):
            frames_read = [sum(caption.replace(" ", "") in text for text in read[label]) for caption in PLANTED]
            rows.append(f"| ocr_det | frames reading each planted caption in full, {label} | "
                        f"{', '.join(str(n) for n in frames_read)} | |")
    return rows


AGREEMENT: dict[str, Callable[..., list[str]]] = {
    "nudity_detector": lambda fp32, int8, frames, planted: nudity_agreement(fp32, int8, frames),
    "ocr_det": ocr_agreement,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fps", type=float, default=1.0, help="frames per second of the benchmark video")
    parser.add_argument("--images", type=Path, help="measure on these pictures instead (a folder)")
    args = parser.parse_args()
    settings = get_settings()
    frames, described = load_frames(args.fps, args.images)
    networks = [n for entry in load_catalogue().values() for n in entry.int8_networks]
    speed, accuracy = [], []
    with tempfile.TemporaryDirectory(prefix="vidsafe-int8-") as scratch:
        for network in networks:
            fp32 = settings.model_repository / network / "1" / FP32_FILE
            prepare = network_inputs(network, settings.model_repository)
            (Path(scratch) / network).mkdir()
            int8 = quantize_network(fp32, Path(scratch) / network / INT8_FILE, prepare, FP32_HEADS[network])
            inputs = [prepare(frame) for frame in frames]
            fp32_s, int8_s = seconds_per_frame(fp32, inputs), seconds_per_frame(int8, inputs)
            speed.append(f"| {network} | {fp32_s * 1000:.1f} | {int8_s * 1000:.1f} | {fp32_s / int8_s:.2f}x |")
            print(speed[-1])
            accuracy += AGREEMENT[network](fp32, int8, frames, args.images is None)
            print("\n".join(accuracy))
    publish(RESULTS, [
        "# int8 detectors against fp32",
        "",
        f"Measured by `python -m benchmarks.int8` on {machine()}, {time.strftime('%Y-%m-%d')}, on {described}. "
        "The int8 copies are made as `VIDSAFE_DETECTOR_PRECISION=int8 vidsafe export` makes them "
        "(export/quantize.py: static QDQ, per-channel 7-bit int8 weights, uint8 activations calibrated on the "
        "bundled sample's 12 frames, each head in fp32). YuNet (face_detector) has none: quantized the same way "
        "it ran slower than fp32.",
        "",
        "## Speed (one single-threaded ONNX Runtime session, the same inputs)",
        "",
        "| network | fp32 ms/frame | int8 ms/frame | int8 speed-up |",
        "|---|---|---|---|",
        *speed,
        "",
        "int8 gains most where the CPU has int8 dot products (AVX-512 VNNI or AVX-VNNI); without them ONNX Runtime "
        "multiplies uint8 by int8 with AVX2's VPMADDUBSW.",
        "",
        "## Accuracy (each reference pipeline run twice, only the network file swapped)",
        "",
        "| network | measure | value | share |",
        "|---|---|---|---|",
        *accuracy,
        "",
        "No explicit imagery ships with vidsafe, so the nudity figures cover only the classes these photos raise. "
        "Before serving int8, rerun `python -m benchmarks.int8 --images DIR` on labelled material of your own.",
    ])


if __name__ == "__main__":
    main()
