"""The cpu profile's host of a detector's preprocessing model: images and the size to bring them to, in one
request, out as the network's input blob. The gpu profile serves the same model as a DALI pipeline; a subclass
implements ``prepare`` with the arithmetic of ``detector_inputs``, which the calling model also runs in-process."""

from __future__ import annotations

import cv2
import numpy as np
import triton_python_backend_utils as pb_utils

MAX_SIDE = 8192  # a larger target is a caller's mistake, not a frame


class SizedImagePreprocess:
    def initialize(self, args: dict[str, str]) -> None:
        # cv2 would otherwise spawn a thread per core in every stub, competing with ONNX Runtime.
        cv2.setNumThreads(1)

    @staticmethod
    def prepare(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """[N, H, W, 3] images -> the detector's [N, 3, H', W'] input at ``size`` (width, height)."""
        raise NotImplementedError

    def execute(self, requests: list) -> list:
        responses = []
        for request in requests:
            images = pb_utils.get_input_tensor_by_name(request, "IMAGE").as_numpy()
            sizes = pb_utils.get_input_tensor_by_name(request, "SIZE").as_numpy()
            problem = _problem(images, sizes)
            if problem:
                error = pb_utils.TritonError(problem, pb_utils.TritonError.INVALID_ARG)
                responses.append(pb_utils.InferenceResponse(output_tensors=[], error=error))
                continue
            blob = self.prepare(np.ascontiguousarray(images), (int(sizes[0, 0]), int(sizes[0, 1])))
            responses.append(pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("INPUT", blob)]))
        return responses

    def finalize(self) -> None:
        pass


def _problem(images: np.ndarray, sizes: np.ndarray) -> str | None:
    if images.shape[1] == 0 or images.shape[2] == 0:
        return f"IMAGE frames must not be empty, got shape {list(images.shape)}"
    if len(sizes) != len(images) or (sizes != sizes[0]).any():
        return "SIZE must give one (width, height) for every image of a request"
    if (sizes[0] < 1).any() or (sizes[0] > MAX_SIDE).any():
        return f"SIZE must be between 1 and {MAX_SIDE}, got {sizes[0].tolist()}"
    return None
