"""Every model in ``model_repository/``: its cpu and gpu profiles' configs parse and serve clients alike.
What a model's configs must say beyond that is checked in its module's tests. No server needed."""

from __future__ import annotations

import pytest

from tests.models.triton_helpers import KIND_CPU, REPOSITORY, instance_kinds, load_profiles, signature

MODELS = sorted(folder.name for folder in REPOSITORY.iterdir()
                if folder.is_dir() and not folder.name.startswith((".", "_")))
# The nudity ensemble and the steps around its detector take the ensemble's requests as they come; every other
# model's requests are batched by Triton's dynamic batcher.
NOT_DYNAMICALLY_BATCHED = {"nudity", "nudity_preprocess", "nudity_postprocess"}


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
