"""The gpu profile's nudity preprocess as a DALI pipeline, defined once for both devices.

``vidsafe export --dali`` serializes the GPU variant to ``1/model.dali`` for Triton's dali backend
(``configs/gpu.pbtxt``); the tests run the CPU variant here against the python model. Same steps as
``1/model.py`` (NudeNet's own preprocessing): pad bottom/right to a square with black, swap RGB to
BGR, resize to 320x320 bilinearly without antialiasing (as cv2.resize does), scale by 1/255, CHW.
"""

from __future__ import annotations

from nvidia.dali import fn, pipeline_def, types

SIZE = 320
MAX_BATCH_SIZE = 16  # the model's max_batch_size in config.pbtxt


@pipeline_def(batch_size=MAX_BATCH_SIZE, num_threads=2, device_id=None)
def nudity_preprocess(device: str = "gpu") -> tuple:  # DALI traces this into a graph
    frames = fn.external_source(name="IMAGE", device="cpu", layout="HWC", dtype=types.UINT8)
    shape = frames.shape(dtype=types.INT32)
    height, width = shape[0], shape[1]
    side = fn.reductions.max(fn.stack(height, width), axes=0)
    if device == "gpu":
        frames = frames.gpu()
    # A crop larger than the frame, anchored top-left, pads bottom/right: the square letterbox.
    square = fn.crop(frames, crop_h=fn.cast(side, dtype=types.FLOAT), crop_w=fn.cast(side, dtype=types.FLOAT),
                     crop_pos_x=0.0, crop_pos_y=0.0, out_of_bounds_policy="pad", fill_values=0)
    bgr = fn.color_space_conversion(square, image_type=types.RGB, output_type=types.BGR)
    resized = fn.resize(bgr, resize_x=SIZE, resize_y=SIZE, interp_type=types.INTERP_LINEAR, antialias=False)
    blob = fn.crop_mirror_normalize(resized, dtype=types.FLOAT, output_layout="CHW", mean=[0.0], std=[255.0])
    letterbox = fn.cast(fn.stack(side, width, height), dtype=types.FLOAT)
    return blob, letterbox
