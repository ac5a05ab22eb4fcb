"""int8 detectors (VIDSAFE_DETECTOR_PRECISION=int8): export quantizes them, Triton serves the quantized copy, the
stack refuses to start without it. Their accuracy against fp32 is measured by benchmarks/int8.py, not here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import tritonclient.grpc as grpcclient

from tests.helpers.int8 import NETWORK
from tests.helpers.model_configs import REPOSITORY
from tests.helpers.support import isolated_settings, state_root
from tests.helpers.triton import infer, own_triton
from vidsafe.catalogue import INT8_FILE
from vidsafe.export.models import export_models
from vidsafe.export.quantize import network_inputs
from vidsafe.export.sample_video import SAMPLE_SCENES, render_frames


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    return next(image for t, image in render_frames(SAMPLE_SCENES, (), (640, 360), 1.0) if t >= 3.0)  # astronaut


def run(path: Path, batch: np.ndarray) -> np.ndarray:
    network = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return network.run(None, {network.get_inputs()[0].name: batch})[0]


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
