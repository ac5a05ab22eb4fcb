"""RGB frames -> the face detector's input at the caller's size (cpu profile; the gpu profile runs the same steps as
a DALI pipeline, dali_pipeline.py). The arithmetic is ``vidsafe_model_host.detector_inputs.face_detector_blob``,
which the faces model also runs in-process on the cpu profile."""

from __future__ import annotations

from vidsafe_model_host.detector_inputs import face_detector_blob
from vidsafe_model_host.preprocess import SizedImagePreprocess


class TritonPythonModel(SizedImagePreprocess):
    prepare = staticmethod(face_detector_blob)
