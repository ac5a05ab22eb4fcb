"""Calling another model of the same server from a python model (business-logic scripting)."""

from __future__ import annotations

import numpy as np
import triton_python_backend_utils as pb_utils


def infer(model: str, inputs: dict[str, np.ndarray], outputs: list[str]) -> dict[str, np.ndarray]:
    """One request to ``model``; its ``outputs`` as numpy arrays. A failure raises TritonModelException, which
    the calling model turns into the error of the request it was serving."""
    request = pb_utils.InferenceRequest(
        model_name=model, inputs=[pb_utils.Tensor(name, np.ascontiguousarray(array)) for name, array in inputs.items()],
        requested_output_names=outputs,
        # The gpu profile's networks answer in GPU memory; the calling models work on the CPU.
        preferred_memory=pb_utils.PreferredMemory(pb_utils.TRITONSERVER_MEMORY_CPU, 0),
    )
    response = request.exec()
    if response.has_error():
        raise pb_utils.TritonModelException(f"{model}: {response.error().message()}")
    return {name: pb_utils.get_output_tensor_by_name(response, name).as_numpy() for name in outputs}
