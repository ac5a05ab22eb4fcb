"""Serialize the DALI pipelines of the gpu profile: ``<model>/dali_pipeline.py`` -> ``<model>/1/model.dali``.

Each pipeline is defined once in Python next to the model it implements (as in Triton's dali_backend
examples) and built here for the GPU; serializing needs no GPU (Triton sets the device at load).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from vidsafe.settings import Settings

PIPELINE_FILE = "dali_pipeline.py"


def image_resized_to_size(device: str, antialias: bool) -> object:
    """The detectors' preprocessing pipelines start alike: the IMAGE input (HWC uint8 RGB) resized linearly to the
    SIZE input (width, height: the caller's geometry), on ``device``. Called while a pipeline is being defined."""
    from nvidia.dali import fn, types  # the export extra's: only where pipelines are defined

    image = fn.external_source(name="IMAGE", device="cpu", layout="HWC", dtype=types.UINT8)
    size = fn.external_source(name="SIZE", device="cpu", dtype=types.INT32)
    if device == "gpu":
        image = image.gpu()
    return fn.resize(image, resize_x=fn.cast(size[0], dtype=types.FLOAT), resize_y=fn.cast(size[1], dtype=types.FLOAT),
                     interp_type=types.INTERP_LINEAR, antialias=antialias)


def load_pipeline_module(model_dir: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"{model_dir.name}_dali_pipeline", model_dir / PIPELINE_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def serialize_dali_pipelines(settings: Settings) -> list[Path]:
    written = []
    for source in sorted(settings.model_repository.glob(f"*/{PIPELINE_FILE}")):
        model_dir = source.parent
        pipeline = getattr(load_pipeline_module(model_dir), model_dir.name)(device="gpu")
        target = model_dir / "1" / "model.dali"
        pipeline.serialize(filename=str(target))
        written.append(target)
    return written
