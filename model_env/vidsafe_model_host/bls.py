"""Calling another model of the same server from a python model (business-logic scripting)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import triton_python_backend_utils as pb_utils


def _tensor(name: str, value: np.ndarray | pb_utils.Tensor) -> pb_utils.Tensor:
    if isinstance(value, np.ndarray):
        return pb_utils.Tensor(name, np.ascontiguousarray(value))
    return pb_utils.Tensor.from_dlpack(name, value)  # another model's output, left where it lies (a GPU's memory)


def _execute(model: str, inputs: dict[str, np.ndarray | pb_utils.Tensor], outputs: list[str],
             on_cpu: bool) -> dict[str, pb_utils.Tensor]:
    # Without a preference, the outputs stay in the memory the model made them in.
    preference = {"preferred_memory": pb_utils.PreferredMemory(pb_utils.TRITONSERVER_MEMORY_CPU, 0)} if on_cpu else {}
    request = pb_utils.InferenceRequest(
        model_name=model, inputs=[_tensor(name, value) for name, value in inputs.items()],
        requested_output_names=outputs, **preference,
    )
    response = request.exec()
    if response.has_error():
        raise pb_utils.TritonModelException(f"{model}: {response.error().message()}")
    return {name: pb_utils.get_output_tensor_by_name(response, name) for name in outputs}


def infer(model: str, inputs: dict[str, np.ndarray | pb_utils.Tensor], outputs: list[str]) -> dict[str, np.ndarray]:
    """One request to ``model``; its ``outputs`` as numpy arrays. A failure raises TritonModelException, which
    the calling model turns into the error of the request it was serving."""
    # The gpu profile's networks answer in GPU memory; the calling models work on the CPU.
    tensors = _execute(model, inputs, outputs, on_cpu=True)
    return {name: tensor.as_numpy() for name, tensor in tensors.items()}


def infer_on_device(model: str, inputs: dict[str, np.ndarray | pb_utils.Tensor],
                    outputs: list[str]) -> dict[str, pb_utils.Tensor]:
    """Like ``infer``, but the outputs stay in the memory of the device that made them (a GPU in the gpu profile),
    to be handed as they are to the next model: a preprocessing step's blob to its detector."""
    return _execute(model, inputs, outputs, on_cpu=False)


def detector_input(preprocess_model: str | None, images: np.ndarray, size: tuple[int, int],
                   in_process: Callable[[np.ndarray, tuple[int, int]], np.ndarray]) -> np.ndarray | pb_utils.Tensor:
    """A detector's input blob for ``images`` brought to ``size`` (width, height): made by ``preprocess_model`` when
    the config names one (the gpu profile's DALI pipeline; the blob stays in GPU memory for the detector), else by
    ``in_process`` here (the cpu profile, where a round trip through another model would only copy)."""
    if preprocess_model:
        sizes = np.tile(np.array(size, dtype=np.int32), (len(images), 1))
        return infer_on_device(preprocess_model, {"IMAGE": images, "SIZE": sizes}, ["INPUT"])["INPUT"]
    return in_process(images, size)
