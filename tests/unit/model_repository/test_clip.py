"""The CLIP models' folders: their profiles, and served only once exported."""

from __future__ import annotations

import pytest

from tests.helpers.clip import MODELS
from tests.helpers.model_configs import GPU_PROFILE, KIND_GPU, assert_served_by, load_config
from vidsafe.catalogue import load_catalogue


@pytest.mark.parametrize("name", MODELS)
def test_gpu_profile_runs_the_python_model_on_the_gpu(name: str) -> None:
    assert_served_by(load_config(name, GPU_PROFILE), "python", KIND_GPU)


def test_catalogue_serves_clip_only_once_exported() -> None:
    entry = load_catalogue()["clip"]
    assert entry.optional and entry.convert == "vidsafe.export.clip:convert"
    assert entry.triton_models == MODELS
    assert entry.calls == {"frames": "clip_image_encoder", "prompts": "clip_text_encoder"}
    assert {f"{name}/1/model.onnx" for name in MODELS} <= set(entry.served_files)
