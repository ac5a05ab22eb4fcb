"""int8 detectors (VIDSAFE_DETECTOR_PRECISION=int8): export quantizes them, Triton serves the quantized copy, the
stack refuses to start without it. Their accuracy against fp32 is measured by benchmarks/int8.py, not here."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import tritonclient.grpc as grpcclient

from tests.support import isolated_settings, state_root
from vidsafe.catalogue import INT8_FILE, Module, entry
from vidsafe.deploy import services
from vidsafe.export.models import export_models
from vidsafe.export.quantize import FP32_HEADS, downstream, network_inputs, quantize_detectors
from vidsafe.export.sample_video import SAMPLE_SCENES, render_frames
from vidsafe.serving import files_served
from vidsafe.settings import Settings

from .triton_helpers import REPOSITORY, infer, own_triton

NETWORK = "nudity_detector"  # the quickest to quantize (seconds)


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    return next(image for t, image in render_frames(SAMPLE_SCENES, (), (640, 360), 1.0) if t >= 3.0)  # astronaut


@pytest.fixture(scope="module")
def quantized_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repository = tmp_path_factory.mktemp("repository")
    (repository / NETWORK / "1").mkdir(parents=True)
    shutil.copy(REPOSITORY / NETWORK / "1" / "model.onnx", repository / NETWORK / "1" / "model.onnx")
    quantize_detectors(entry(Module.nudity), Settings(model_repository=repository, detector_precision="int8"))
    return repository


def run(path: Path, batch: np.ndarray) -> np.ndarray:
    network = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return network.run(None, {network.get_inputs()[0].name: batch})[0]


def test_export_quantizes_the_body_and_keeps_the_head_fp32(quantized_repository: Path) -> None:
    model = onnx.load(quantized_repository / NETWORK / "1" / INT8_FILE)
    quantized = {name for node in model.graph.node if node.op_type == "DequantizeLinear" for name in node.output}
    convs = [node for node in model.graph.node if node.op_type == "Conv"]
    head = set(downstream(model.graph, FP32_HEADS[NETWORK]))
    assert all(node.input[1] in quantized for node in convs if node.name not in head)  # int8 weights
    assert not any(node.input[1] in quantized for node in convs if node.name in head)
    assert 0 < len(head) < len(model.graph.node)


def test_quantized_copy_is_not_made_again_and_not_at_all_for_fp32(quantized_repository: Path, tmp_path: Path) -> None:
    int8 = quantized_repository / NETWORK / "1" / INT8_FILE
    before = int8.stat().st_mtime_ns
    settings = Settings(model_repository=quantized_repository, detector_precision="int8")
    assert quantize_detectors(entry(Module.nudity), settings) == [int8]
    assert int8.stat().st_mtime_ns == before
    assert quantize_detectors(entry(Module.nudity), Settings(model_repository=tmp_path)) == []


def test_stack_refuses_int8_without_the_quantized_copies(tmp_path: Path) -> None:
    for path in (*entry(Module.nudity).served_files, *entry(Module.ocr).served_files):  # the fp32 files only
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).touch()
    settings = Settings(model_repository=tmp_path, served_modules=["nudity", "ocr"], detector_precision="int8")
    assert {f"{NETWORK}/1/{INT8_FILE}", f"ocr_det/1/{INT8_FILE}"} <= set(
        path for name in (Module.nudity, Module.ocr) for path in files_served(entry(name), settings))
    with pytest.raises(services.StackError, match=rf"{NETWORK}/1/{INT8_FILE}.*ocr_det/1/{INT8_FILE}"):
        services._prepare_triton(settings)


@pytest.fixture(scope="module")
def int8_triton() -> Iterator[grpcclient.InferenceServerClient]:
    """A Triton of its own serving the nudity models with the detector int8, exported as `vidsafe export` does."""
    with state_root("int8") as root:
        settings = isolated_settings(root / "state", served_modules=["nudity"], detector_precision="int8")
        export_models(settings, ["nudity"])
        with own_triton(settings) as triton:
            yield triton


def test_triton_serves_the_int8_copy(int8_triton: grpcclient.InferenceServerClient, frame: np.ndarray) -> None:
    batch = network_inputs(NETWORK, REPOSITORY)(frame)
    served = infer(int8_triton, NETWORK, {"images": batch}, ("output0",))["output0"]
    # The same file in this process: ONNX Runtime's kernels are those of the model env's, on the same CPU.
    np.testing.assert_allclose(served, run(REPOSITORY / NETWORK / "1" / INT8_FILE, batch), rtol=1e-5, atol=1e-4)
    assert not np.allclose(served, run(REPOSITORY / NETWORK / "1" / "model.onnx", batch), rtol=1e-5, atol=1e-4)
