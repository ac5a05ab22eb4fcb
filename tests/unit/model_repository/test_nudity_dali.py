"""The gpu profile's DALI preprocess, run on the CPU here, against NudeNet's own preprocessing.

Tolerance: one grey level (1/255). DALI's bilinear resize and cv2's round intermediate values
differently; the letterbox geometry must be identical.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from nudenet import nudenet as reference_module
from skimage import data

from tests.helpers.model_configs import REPOSITORY
from vidsafe.export.dali import load_pipeline_module, serialize_dali_pipelines
from vidsafe.settings import Settings

MODEL_DIR = REPOSITORY / "nudity_preprocess"
ONE_GREY_LEVEL = 1 / 255 + 1e-6


def _frames() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    astronaut = data.astronaut()
    return {
        "astronaut": astronaut,
        "wide": astronaut[100:300],
        "tall": astronaut[:, 150:350],
        "coffee": data.coffee(),
        "noise_17x9": rng.integers(0, 256, (9, 17, 3), dtype=np.uint8),
    }


def run_on_cpu(frames: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    # One fed batch, one run: no prefetching, so the outputs belong to these frames.
    pipeline = load_pipeline_module(MODEL_DIR).nudity_preprocess(device="cpu", prefetch_queue_depth=1)
    pipeline.build()
    pipeline.feed_input("IMAGE", frames)
    blob, letterbox = pipeline.run()
    return np.array(blob.as_tensor()), np.array(letterbox.as_tensor())


@pytest.mark.parametrize(("name", "frame"), list(_frames().items()))
def test_dali_preprocess_matches_reference(name: str, frame: np.ndarray) -> None:
    frame = np.ascontiguousarray(frame)  # as Triton hands a request's tensor to the dali backend
    blob, letterbox = run_on_cpu([frame, frame])
    reference = reference_module._read_image(np.ascontiguousarray(frame[..., ::-1]), 320)
    expected_blob, x_pad, y_pad, width, height = reference[0], reference[3], reference[4], reference[5], reference[6]
    assert blob.shape == (2, 3, 320, 320) and blob.dtype == np.float32
    assert np.abs(blob - expected_blob).max() <= ONE_GREY_LEVEL
    np.testing.assert_array_equal(letterbox, [[width + x_pad, width, height]] * 2)
    assert height + y_pad == width + x_pad


def test_gpu_pipeline_serializes_for_triton(tmp_path: Path) -> None:
    repository = tmp_path / "model_repository"
    (repository / "nudity_preprocess" / "1").mkdir(parents=True)
    (repository / "nudity_preprocess" / "dali_pipeline.py").write_bytes((MODEL_DIR / "dali_pipeline.py").read_bytes())
    (written,) = serialize_dali_pipelines(Settings(model_repository=repository))
    assert written == repository / "nudity_preprocess" / "1" / "model.dali"
    assert written.stat().st_size > 1000
