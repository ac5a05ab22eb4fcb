"""NudeNet's YOLOv8n on ONNX Runtime: all requests of one execute() go through ONE session run.

Triton's dynamic batcher hands us several requests at once; concatenating them is what turns that
into a real batch for the network (the ONNX graph has a dynamic batch dimension).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        config = json.loads(args["model_config"])
        threads = int(config.get("parameters", {}).get("intra_op_threads", {}).get("string_value", "2"))
        path = Path(args["model_repository"]) / args["model_version"] / "model.onnx"
        if not path.is_file():
            raise pb_utils.TritonModelException(f"{path} is missing: export the models first (export/models.py)")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        # One graph, run sequentially: inter-op threads would only compete with the intra-op ones.
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def execute(self, requests: list) -> list:
        batches = [pb_utils.get_input_tensor_by_name(r, "images").as_numpy() for r in requests]
        (output,) = self.session.run(["output0"], {"images": np.concatenate(batches)})
        splits = np.cumsum([len(batch) for batch in batches])[:-1]
        return [
            pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("output0", np.ascontiguousarray(part))])
            for part in np.split(output, splits)
        ]

    def finalize(self) -> None:
        self.session = None
