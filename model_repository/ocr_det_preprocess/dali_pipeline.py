"""The OCR detector's input as a DALI pipeline, defined once for both devices (the gpu profile's model).

``vidsafe export --gpu`` serializes the GPU variant to ``1/model.dali``; the tests run the CPU variant against
``vidsafe_model_host.detector_inputs.ocr_det_input``, what the cpu profile runs (rapidocr 1.4.4's DetPreProcess).
Same steps: resize the BGR image to SIZE (width, height: rapidocr's geometry, computed by the caller) bilinearly
without antialiasing, as cv2.resize does, then (v / 255 - 0.5) / 0.5, CHW.
"""

from __future__ import annotations

from nvidia.dali import fn, pipeline_def, types

from vidsafe.export.dali import image_resized_to_size

MAX_BATCH_SIZE = 16  # the model's max_batch_size in config.pbtxt
HALF_RANGE = 127.5  # (v / 255 - 0.5) / 0.5 == (v - 127.5) / 127.5


@pipeline_def(batch_size=MAX_BATCH_SIZE, num_threads=2, device_id=None)
def ocr_det_preprocess(device: str = "gpu") -> object:  # DALI traces this into a graph
    resized = image_resized_to_size(device, antialias=False)
    return fn.crop_mirror_normalize(resized, dtype=types.FLOAT, output_layout="CHW", mean=[HALF_RANGE],
                                    std=[HALF_RANGE])
