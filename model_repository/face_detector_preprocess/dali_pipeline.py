"""The face detector's input as a DALI pipeline, defined once for both devices (the gpu profile's model).

``vidsafe export --gpu`` serializes the GPU variant to ``1/model.dali``; the tests run the CPU variant against
``vidsafe_model_host.detector_inputs.face_detector_blob``, what the cpu profile runs. Same steps: resize the RGB
frame to SIZE (width, height; the caller's geometry, the frame's own size unless it passes ``max_side``), swap to
BGR, float 0..255, CHW, pad bottom/right with 0 to multiples of 32. A downscale is antialiased linear here and
OpenCV's area average there, which differ by a few grey levels; the frame's own size is copied exactly.
"""

from __future__ import annotations

from nvidia.dali import fn, pipeline_def, types

from vidsafe.export.dali import image_resized_to_size

MAX_BATCH_SIZE = 16  # the model's max_batch_size in config.pbtxt
ALIGN = 32  # YuNet's largest stride


@pipeline_def(batch_size=MAX_BATCH_SIZE, num_threads=2, device_id=None)
def face_detector_preprocess(device: str = "gpu") -> object:  # DALI traces this into a graph
    resized = image_resized_to_size(device, antialias=True)
    bgr = fn.color_space_conversion(resized, image_type=types.RGB, output_type=types.BGR)
    planes = fn.crop_mirror_normalize(bgr, dtype=types.FLOAT, output_layout="CHW", mean=[0.0], std=[1.0])
    return fn.pad(planes, axes=(1, 2), align=ALIGN, fill_value=0.0)
