"""One PP-OCR network (1/model.onnx) on ONNX Runtime: all requests of one execute() go through ONE run.

ocr_det, ocr_cls and ocr_rec all run this file (theirs are links to it): each network has one input and
one output, named in the model's config as in its ONNX graph, so the gpu profile's onnxruntime backend
serves the same file under the same names. Triton's dynamic batcher only puts requests of equal shape
into one execute(), so their inputs concatenate along the batch dimension.
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
        self.input_name = config["input"][0]["name"]
        self.output_name = config["output"][0]["name"]
        threads = int(config.get("parameters", {}).get("intra_op_threads", {}).get("string_value", "2"))
        path = Path(args["model_repository"]) / args["model_version"] / "model.onnx"
        if not path.is_file():
            raise pb_utils.TritonModelException(f"{path} is missing: export the models first (vidsafe export ocr)")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        # One graph, run sequentially: inter-op threads would only compete with the intra-op ones.
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def execute(self, requests: list) -> list:
        batches = [pb_utils.get_input_tensor_by_name(r, self.input_name).as_numpy() for r in requests]
        (output,) = self.session.run([self.output_name], {self.input_name: np.concatenate(batches)})
        splits = np.cumsum([len(batch) for batch in batches])[:-1]
        return [
            pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor(self.output_name, np.ascontiguousarray(part))])
            for part in np.split(output, splits)
        ]

    def finalize(self) -> None:
        self.session = None
