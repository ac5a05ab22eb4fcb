"""RGB frames -> the nudity detector's 320x320 input, exactly as nudenet 3.4.2 prepares a picture.

nudenet pads the frame bottom/right with black to a square, then ``cv2.dnn.blobFromImage`` resizes it
to 320x320 (bilinear), scales by 1/255 and swaps the channels. Its caller hands it BGR, which its own
``cvtColor(COLOR_RGBA2BGR)`` has already turned into RGB, so the swap means the model really receives
**BGR** planes. We receive RGB, so the same ``blobFromImage(swapRB=True)`` call gives the same bytes.
"""

from __future__ import annotations

import cv2
import numpy as np
import triton_python_backend_utils as pb_utils

SIZE = 320


def letterbox(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[N, H, W, 3] uint8 RGB -> ([N, 3, 320, 320] float32 BGR blob, [N, 3] float32 (side, W, H))."""
    _, height, width, _ = frames.shape
    side = max(height, width)
    padded = [
        cv2.copyMakeBorder(frame, 0, side - height, 0, side - width, cv2.BORDER_CONSTANT, value=0)
        for frame in frames
    ]
    # The very call nudenet makes, so interpolation and rounding match bit for bit.
    blob = cv2.dnn.blobFromImages(padded, 1 / 255.0, (SIZE, SIZE), (0, 0, 0), swapRB=True, crop=False)
    shape = np.tile(np.array([side, width, height], dtype=np.float32), (len(frames), 1))
    return blob.astype(np.float32, copy=False), shape


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
            blob, shape = letterbox(np.ascontiguousarray(frames))
            responses.append(pb_utils.InferenceResponse(
                output_tensors=[pb_utils.Tensor("INPUT", blob), pb_utils.Tensor("LETTERBOX", shape)]))
        return responses

    def finalize(self) -> None:
        pass
