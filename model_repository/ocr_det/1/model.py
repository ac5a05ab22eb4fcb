"""ocr_det: PP-OCRv4 text detection, from 1/model.onnx.

Served by the shared host of single-input ONNX networks (vidsafe_model_host, installed in the model env).
"""

from vidsafe_model_host.networks import OnnxNetwork as TritonPythonModel

__all__ = ["TritonPythonModel"]
