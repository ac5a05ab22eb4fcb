"""Frames -> how light each is: the mean of its levels over the white level export wrote (levels.json)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        levels = Path(args["model_repository"]) / args["model_version"] / "levels.json"
        self.white = float(json.loads(levels.read_text())["white"])

    def execute(self, requests: list) -> list:
        responses = []
        for request in requests:
            frames = pb_utils.get_input_tensor_by_name(request, "IMAGE").as_numpy()
            scores = frames.reshape(len(frames), -1).mean(axis=1, keepdims=True) / self.white
            responses.append(pb_utils.InferenceResponse(output_tensors=[
                pb_utils.Tensor("SCORES", scores.astype(np.float32)),
                pb_utils.Tensor("COUNT", np.ones((len(frames), 1), dtype=np.int32))]))
        return responses
