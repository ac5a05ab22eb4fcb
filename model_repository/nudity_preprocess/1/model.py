"""RGB frames -> the nudity detector's 320x320 input, exactly as nudenet 3.4.2 prepares a picture.

The arithmetic is ``vidsafe_model_host.detector_inputs.nudity_input``, shared with the int8 calibration.
"""

from __future__ import annotations

import cv2
import numpy as np
import triton_python_backend_utils as pb_utils
from vidsafe_model_host.detector_inputs import nudity_input


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        # cv2 would otherwise spawn a thread per core in every stub, competing with ONNX Runtime.
        cv2.setNumThreads(1)

    def execute(self, requests: list) -> list:
        responses = []
        for request in requests:
            frames = pb_utils.get_input_tensor_by_name(request, "IMAGE").as_numpy()
            if frames.shape[1] == 0 or frames.shape[2] == 0:
                error = pb_utils.TritonError(f"IMAGE frames must not be empty, got shape {list(frames.shape)}",
                                             pb_utils.TritonError.INVALID_ARG)
                responses.append(pb_utils.InferenceResponse(output_tensors=[], error=error))
                continue
            blob, shape = nudity_input(np.ascontiguousarray(frames))
            responses.append(pb_utils.InferenceResponse(
                output_tensors=[pb_utils.Tensor("INPUT", blob), pb_utils.Tensor("LETTERBOX", shape)]))
        return responses

    def finalize(self) -> None:
        pass
