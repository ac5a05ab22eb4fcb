"""BGR images (as the ocr model prepares them) -> the OCR detector's input at the caller's size (cpu profile; the
gpu profile runs the same steps as a DALI pipeline, dali_pipeline.py). The arithmetic is
``vidsafe_model_host.detector_inputs.ocr_det_blob``, which the ocr model also runs in-process on the cpu profile."""

from __future__ import annotations

from vidsafe_model_host.detector_inputs import ocr_det_blob
from vidsafe_model_host.preprocess import SizedImagePreprocess


class TritonPythonModel(SizedImagePreprocess):
    prepare = staticmethod(ocr_det_blob)
