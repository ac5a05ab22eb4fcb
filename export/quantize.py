"""int8 copies of the detector networks (``VIDSAFE_DETECTOR_PRECISION=int8``), made from their fp32 ONNX files by
ONNX Runtime's static quantization.

QDQ format, weights int8 per output channel in 7 bits (``reduce_range``: AVX2's uint8 x int8 multiply-add,
VPMADDUBSW, saturates on full-range weights, and CPUs without VNNI take that path), activations uint8 with
ranges calibrated (min/max) on frames of the bundled sample (export/sample_video.py) at 1280x720, each
prepared exactly as its Triton model prepares it (model_env/vidsafe_model_host/detector_inputs.py, loaded
from its file: that package lives in the model env). Each network's head stays fp32 (``FP32_HEADS``). A graph
older than opset 13 is converted first, which per-channel QDQ needs. The copy sits beside the fp32 file as
``1/model_int8.onnx``; what it costs in accuracy is measured by ``python -m benchmarks.int8``.
"""

from __future__ import annotations

import importlib.util
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from vidsafe.catalogue import INT8_FILE, CatalogueEntry
from vidsafe.export.profiles import read_config
from vidsafe.export.sample_video import SAMPLE_SCENES, render_frames
from vidsafe.serving import int8_served
from vidsafe.settings import MODEL_ENV_DIR, Settings

FP32_FILE = "model.onnx"
CALIBRATION_SIZE = (1280, 720)
CALIBRATION_FPS = 1.0  # 12 frames of the sample's 12 s: every shot, the caption and the face
MIN_OPSET = 13  # per-channel QuantizeLinear/DequantizeLinear
# Where each network's head begins: it and everything after it stay fp32. YOLOv8's Detect head ends in one
# tensor holding box coordinates (0..320) and class probabilities (0..1), which a uint8 range cannot hold
# both of; DB's head turns features into the text probability map. Measured by benchmarks/int8.py.
FP32_HEADS = {
    "nudity_detector": tuple(f"/model.22/{branch}.{level}/{branch}.{level}.0/conv/Conv"
                             for level in range(3) for branch in ("cv2", "cv3")),
    "ocr_det": ("p2o.Concat.0",),
}


def detector_inputs() -> ModuleType:
    path = MODEL_ENV_DIR / "vidsafe_model_host" / "detector_inputs.py"
    spec = importlib.util.spec_from_file_location("vidsafe_detector_inputs", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def network_inputs(network: str, model_repository: Path) -> Callable[[np.ndarray], np.ndarray]:
    """What ``network`` is fed for one [H, W, 3] RGB frame, as its caller in Triton computes it ([1, ...])."""
    inputs = detector_inputs()
    if network == "nudity_detector":
        return lambda frame: inputs.nudity_input(frame[None])[0]
    if network == "face_detector":
        max_side = int(read_config(model_repository / "faces" / "config.pbtxt").parameters["max_side"].string_value)
        return lambda frame: inputs.face_detector_blob(frame[None],
                                                       inputs.face_detector_size(*frame.shape[:2], max_side))[0]
    if network == "ocr_det":
        def ocr(frame: np.ndarray) -> np.ndarray:
            bgr = np.ascontiguousarray(frame[..., ::-1])  # the ocr model turns frames BGR first
            return inputs.ocr_det_input(bgr, inputs.ocr_det_size(bgr))[None]
        return ocr
    raise KeyError(f"no calibration input for {network}")


class FrameReader:
    """onnxruntime's CalibrationDataReader: the calibration frames, one network input at a time."""

    def __init__(self, input_name: str, batches: Iterator[np.ndarray]) -> None:
        self.input_name, self.batches = input_name, batches

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self.batches, None)
        return None if batch is None else {self.input_name: batch}


def downstream(graph: Any, starts: tuple[str, ...]) -> list[str]:
    """The names of the nodes ``starts`` and of every node that reads what they compute, however indirectly."""
    names = {node.name for node in graph.node}
    if missing := [name for name in starts if name not in names]:
        raise KeyError(f"no node {', '.join(missing)} in the graph")
    found = set(starts)
    tensors = {out for node in graph.node if node.name in found for out in node.output}
    for node in graph.node:  # topologically sorted: a node's inputs come before it
        if node.name not in found and tensors.intersection(node.input):
            found.add(node.name)
            tensors.update(node.output)
    return sorted(found)


def quantize_network(fp32: Path, int8: Path, prepare: Callable[[np.ndarray], np.ndarray],
                     fp32_head: tuple[str, ...] = ()) -> Path:
    # Export-only packages (onnx: the `export` extra), imported when a copy is made.
    import onnx
    from onnx import version_converter
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    model = onnx.load(fp32)
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    if opset < MIN_OPSET:
        model = version_converter.convert_version(model, MIN_OPSET)
    frames = [frame for _, frame in render_frames(SAMPLE_SCENES, (), CALIBRATION_SIZE, CALIBRATION_FPS)]
    with tempfile.TemporaryDirectory(prefix="vidsafe-quantize-") as scratch:
        converted, prepared = Path(scratch) / "converted.onnx", Path(scratch) / "prepared.onnx"
        onnx.save(model, converted)
        # Symbolic shape inference fails on these graphs' free image sizes; ONNX's own inference is enough.
        quant_pre_process(str(converted), str(prepared), skip_symbolic_shape=True)
        partial = int8.with_suffix(".partial")
        kept = downstream(onnx.load(prepared).graph, fp32_head) if fp32_head else []
        try:
            quantize_static(str(prepared), str(partial), FrameReader(model.graph.input[0].name, map(prepare, frames)),
                            quant_format=QuantFormat.QDQ, per_channel=True, reduce_range=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, nodes_to_exclude=kept)
            partial.replace(int8)
        finally:
            partial.unlink(missing_ok=True)
    return int8


def quantize_detectors(entry: CatalogueEntry, settings: Settings) -> list[Path]:
    """The int8 copies of the networks of ``entry`` that ``settings`` serve int8, each made again when it is
    missing or older than its fp32 file."""
    written = []
    for network in int8_served(entry, settings):
        fp32 = settings.model_repository / network / "1" / FP32_FILE
        int8 = fp32.with_name(INT8_FILE)
        if not int8.exists() or int8.stat().st_mtime < fp32.stat().st_mtime:
            quantize_network(fp32, int8, network_inputs(network, settings.model_repository), FP32_HEADS[network])
        written.append(int8)
    return written
