"""The ONNX Runtime session of every python model that hosts an ONNX file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import onnxruntime as ort
import triton_python_backend_utils as pb_utils

# The stack names the models to serve int8 (VIDSAFE_DETECTOR_PRECISION=int8: the catalogue's int8_networks), whose
# quantized copy vidsafe export writes beside model.onnx under this name (vidsafe/catalogue.py's INT8_FILE).
INT8_MODELS_ENV = "VIDSAFE_INT8_MODELS"
INT8_FILE = "model_int8.onnx"


def open_session(args: dict[str, str], filename: str = "model.onnx",
                 missing_hint: str = "export the models first (`vidsafe export`)") -> ort.InferenceSession:
    """The model's ONNX file (its int8 copy where the stack asks for one) on this instance's device (CUDA for a
    KIND_GPU instance when ONNX Runtime has it), with the intra-op threads of the config's ``intra_op_threads``
    parameter (default 2)."""
    config = json.loads(args["model_config"])
    threads = int(config.get("parameters", {}).get("intra_op_threads", {}).get("string_value", "2"))
    if args["model_name"] in os.environ.get(INT8_MODELS_ENV, "").split(","):
        filename = INT8_FILE
        missing_hint = "export the int8 copies first (VIDSAFE_DETECTOR_PRECISION=int8 vidsafe export)"
    path = Path(args["model_repository"]) / args["model_version"] / filename
    if not path.is_file():
        raise pb_utils.TritonModelException(f"{path} is missing: {missing_hint}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    # One graph, run sequentially: inter-op threads would only compete with the intra-op ones.
    options.inter_op_num_threads = 1
    providers: list = ["CPUExecutionProvider"]
    if args.get("model_instance_kind") == "GPU" and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, ("CUDAExecutionProvider", {"device_id": int(args["model_instance_device_id"])}))
    return ort.InferenceSession(str(path), options, providers=providers)
