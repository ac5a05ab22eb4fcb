"""The model repository's configs as the tests read them: each model's cpu and gpu profile, parsed; and a python
model's own code, imported."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

REPOSITORY = Path(__file__).resolve().parents[2] / "model_repository"


CPU_PROFILE = "config.pbtxt"  # a model's config for the cpu profile, relative to its folder


GPU_PROFILE = "configs/gpu.pbtxt"  # and for the gpu profile


KIND_CPU = model_config_pb2.ModelInstanceGroup.KIND_CPU


KIND_GPU = model_config_pb2.ModelInstanceGroup.KIND_GPU


def load_config(model: str, profile: str = CPU_PROFILE) -> model_config_pb2.ModelConfig:
    """The parsed config of ``model`` (a folder of the repository) for one profile."""
    return text_format.Parse((REPOSITORY / model / profile).read_text(), model_config_pb2.ModelConfig())


def load_profiles(model: str) -> tuple[model_config_pb2.ModelConfig, model_config_pb2.ModelConfig]:
    """The cpu and the gpu profile's configs of ``model``."""
    return load_config(model, CPU_PROFILE), load_config(model, GPU_PROFILE)


def signature(config: model_config_pb2.ModelConfig) -> tuple:
    """What a client sees of a model: its name, batch size and tensors, whichever backend serves it."""
    inputs = [(t.name, t.data_type, list(t.dims), t.optional, t.allow_ragged_batch) for t in config.input]
    outputs = [(t.name, t.data_type, list(t.dims)) for t in config.output]
    return config.name, config.max_batch_size, inputs, outputs


def instance_kinds(config: model_config_pb2.ModelConfig) -> list[int]:
    return [group.kind for group in config.instance_group]


def assert_served_by(config: model_config_pb2.ModelConfig, backend: str, kind: int,
                     model_file: str | None = None) -> None:
    """``config`` runs in ``backend``, in one group of ``kind`` instances (and, if named, from ``model_file``)."""
    assert config.backend == backend, f"{config.name}: backend {config.backend!r}"
    assert instance_kinds(config) == [kind], f"{config.name}: instance groups {list(config.instance_group)}"
    if model_file is not None:
        assert config.default_model_filename == model_file


def import_model(model: str) -> ModuleType:
    """A python-backend model's ``1/model.py``, imported as Triton's python backend imports it: with the backend's
    utils module (the tritonserver wheel's) and the model environment's shared code on the path."""
    from vidsafe.deploy.tritonserver import ensure_tritonserver
    from vidsafe.settings import MODEL_ENV_DIR, Settings

    paths = [str(ensure_tritonserver(Settings()).backend_dir / "python"), str(MODEL_ENV_DIR)]
    sys.path[:0] = paths
    try:
        spec = importlib.util.spec_from_file_location(f"{model}_model", REPOSITORY / model / "1" / "model.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        return module
    finally:
        del sys.path[:len(paths)]
