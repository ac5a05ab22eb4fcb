"""Every model in ``model_repository/``: its cpu and gpu profiles' configs parse and serve clients alike, the gpu
one is exactly its generation from the cpu one and the overlay (every field, parameters included), and no model
folder reaches into another. What a model's configs must say beyond that is checked in its module's tests. No
server needed."""

from __future__ import annotations

import pytest

from tests.helpers.model_configs import GPU_PROFILE, KIND_CPU, REPOSITORY, instance_kinds, load_profiles, signature
from vidsafe.export.profiles import GPU_OVERLAY, gpu_config, render

MODELS = sorted(folder.name for folder in REPOSITORY.iterdir()
                if folder.is_dir() and not folder.name.startswith((".", "_")))
# The nudity ensemble and the steps around its detector take the ensemble's requests as they come, and the face and
# OCR detectors' preprocessing takes those of faces and ocr, whose frames are batched already; every other model's
# requests are batched by Triton's dynamic batcher.
NOT_DYNAMICALLY_BATCHED = {"nudity", "nudity_preprocess", "nudity_postprocess", "face_detector_preprocess",
                           "ocr_det_preprocess"}


@pytest.mark.parametrize("model", MODELS)
def test_cpu_and_gpu_configs_parse_and_agree(model: str) -> None:
    cpu, gpu = load_profiles(model)
    assert cpu.name == model
    assert signature(gpu) == signature(cpu)
    assert cpu.dynamic_batching == gpu.dynamic_batching
    assert cpu.HasField("dynamic_batching") or model in NOT_DYNAMICALLY_BATCHED
    assert (REPOSITORY / model / "1").is_dir()
    if cpu.platform == "ensemble":
        return
    # The cpu profile runs every model in Triton's python backend, on the CPU.
    assert cpu.backend == "python"
    assert instance_kinds(cpu) == [KIND_CPU]
    assert (REPOSITORY / model / "1" / "model.py").is_file()


@pytest.mark.parametrize("model", MODELS)
def test_gpu_config_is_the_cpu_config_with_its_overlay(model: str) -> None:
    folder = REPOSITORY / model
    assert (folder / GPU_OVERLAY).is_file(), f"{model} has no gpu overlay"
    _, gpu = load_profiles(model)
    # Every field, parameters included: what the overlay does not set is the cpu profile's.
    assert gpu == gpu_config(folder), f"regenerate it: vidsafe export --gpu (or edit {GPU_OVERLAY})"
    assert (folder / GPU_PROFILE).read_text() == render(gpu_config(folder))


def test_no_model_folder_links_into_another() -> None:
    links = [str(path.relative_to(REPOSITORY)) for path in REPOSITORY.rglob("*") if path.is_symlink()]
    assert links == [], "shared code belongs in model_env/vidsafe_model_host, not in links between model folders"


def test_every_call_to_another_model_asks_for_its_outputs_in_cpu_memory() -> None:
    """A python model calling another (BLS) goes through vidsafe_model_host.bls, which sets preferred_memory:
    the gpu profile's networks would otherwise answer in GPU memory, which numpy cannot read."""
    callers = [str(path.relative_to(REPOSITORY)) for path in REPOSITORY.glob("*/1/model.py")
               if "InferenceRequest(" in path.read_text()]
    assert callers == []


ONNXRUNTIME_MODELS = [model for model in MODELS if load_profiles(model)[1].backend == "onnxruntime"]


@pytest.mark.parametrize("model", ONNXRUNTIME_MODELS)
def test_gpu_networks_run_through_tensorrt_in_fp16_over_every_batch_size(model: str) -> None:
    cpu, gpu = load_profiles(model)
    (accelerator,) = gpu.optimization.execution_accelerators.gpu_execution_accelerator
    assert accelerator.name == "tensorrt"
    assert accelerator.parameters["precision_mode"] == "FP16"
    assert accelerator.parameters["trt_engine_cache_enable"] == "1"
    (tensor,) = cpu.input
    shapes = {}
    for bound in ("min", "opt", "max"):
        name, dims = accelerator.parameters[f"trt_profile_{bound}_shapes"].split(":")
        assert name == tensor.name
        shapes[bound] = [int(dim) for dim in dims.split("x")]
    # The profile's batch runs from 1 to what the dynamic batcher may form, and every fixed dimension is the config's.
    assert [shapes[bound][0] for bound in ("min", "max")] == [1, cpu.max_batch_size]
    assert 1 <= shapes["opt"][0] <= cpu.max_batch_size
    for bound in shapes.values():
        assert len(bound) == 1 + len(tensor.dims)
        assert all(dim == fixed for dim, fixed in zip(bound[1:], tensor.dims, strict=True) if fixed != -1)
    assert all(low <= opt <= high for low, opt, high in zip(shapes["min"], shapes["opt"], shapes["max"], strict=True))
