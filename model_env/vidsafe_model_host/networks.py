"""An ONNX network (1/model.onnx) on ONNX Runtime: every request of one execute() in ONE session run.

The cpu profile's host of every single-input ONNX network (nudity_detector, face_detector, face_embedder,
ocr_det, ocr_cls and ocr_rec): each of those models' ``1/model.py`` is this class. Input and output names
come from the model's config, named as in the ONNX graph, so the gpu profile's onnxruntime backend serves the same
file under the same names. Triton's dynamic batcher only puts requests of one shape in a batch, so the
requests concatenate along the batch dimension, which the graphs leave free: that is what turns
concurrent requests into a real batch for the network.
"""

from __future__ import annotations

import json

import numpy as np
import triton_python_backend_utils as pb_utils

from vidsafe_model_host.batching import split_responses
from vidsafe_model_host.sessions import open_session


class OnnxNetwork:
    def initialize(self, args: dict[str, str]) -> None:
        config = json.loads(args["model_config"])
        (self.input_name,) = (tensor["name"] for tensor in config["input"])
        self.output_names = [tensor["name"] for tensor in config["output"]]
        self.session = open_session(args)

    def execute(self, requests: list) -> list:
        batches = [pb_utils.get_input_tensor_by_name(r, self.input_name).as_numpy() for r in requests]
        outputs = self.session.run(self.output_names, {self.input_name: np.concatenate(batches)})
        return split_responses(dict(zip(self.output_names, outputs, strict=True)), [len(batch) for batch in batches])

    def finalize(self) -> None:
        self.session = None
