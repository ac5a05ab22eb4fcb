"""RGB frames -> CLIP image embeddings, preprocessed as CLIP's image processor does it.

Each frame's shortest side is resized to the checkpoint's image size S with PIL's bicubic filter (the
size rule and filter of Hugging Face's CLIPImageProcessor and OpenAI's Resize), then center-cropped to
S x S; scaling and mean/std normalisation are in the graph (export/clip.py). The frames of all requests
of one execute() go through ONE session run: after cropping they all have the same size.
"""

from __future__ import annotations

import numpy as np
import triton_python_backend_utils as pb_utils
from PIL import Image
from vidsafe_model_host.sessions import open_session


def center_crop(frame: np.ndarray, size: int) -> np.ndarray:
    """[H, W, 3] uint8 -> [size, size, 3] uint8: shortest side to ``size`` (bicubic), then the center."""
    height, width = frame.shape[:2]
    # CLIPImageProcessor's rule: the long side is truncated, not rounded.
    if width <= height:
        new_width, new_height = size, int(size * height / width)
    else:
        new_width, new_height = int(size * width / height), size
    resized = np.asarray(Image.fromarray(frame).resize((new_width, new_height), Image.Resampling.BICUBIC))
    top, left = (new_height - size) // 2, (new_width - size) // 2
    return resized[top: top + size, left: left + size]


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        self.session = open_session(args, missing_hint="set VIDSAFE_CLIP_CHECKPOINT and run `vidsafe export clip`")
        self.size = int(self.session.get_inputs()[0].shape[1])  # pixels: [batch, S, S, 3]
        self.width = int(self.session.get_outputs()[0].shape[1])

    def execute(self, requests: list) -> list:
        crops: list[np.ndarray] = []
        counts: list[int] = []
        errors: list[pb_utils.TritonError | None] = []
        for request in requests:
            frames = pb_utils.get_input_tensor_by_name(request, "IMAGE").as_numpy()
            if frames.shape[1] == 0 or frames.shape[2] == 0:
                errors.append(pb_utils.TritonError(f"IMAGE frames must not be empty, got shape {list(frames.shape)}",
                                                   pb_utils.TritonError.INVALID_ARG))
                counts.append(0)
                continue
            errors.append(None)
            counts.append(len(frames))
            crops += [center_crop(frame, self.size) for frame in frames]
        if crops:
            (embeddings,) = self.session.run(["embeddings"], {"pixels": np.stack(crops)})
        else:
            embeddings = np.zeros((0, self.width), dtype=np.float32)
        return [
            pb_utils.InferenceResponse(output_tensors=[], error=error) if error is not None else
            pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("EMBEDDINGS", np.ascontiguousarray(part))])
            for error, part in zip(errors, np.split(embeddings, np.cumsum(counts)[:-1]), strict=True)
        ]

    def finalize(self) -> None:
        self.session = None
