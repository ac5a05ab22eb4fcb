"""Faces in RGB frames: YuNet detection, landmark alignment and SFace embeddings, as OpenCV does them.

OpenCV's ``FaceDetectorYN`` pads a (BGR) image bottom/right to multiples of 32, runs YuNet on it as
is (0..255, no resize), decodes every anchor whose score sqrt(cls * obj) reaches the threshold and
keeps ``cv2.dnn.NMSBoxes`` over the int-truncated boxes. ``FaceRecognizerSF.alignCrop`` warps the
image by the similarity transform (Umeyama) that takes the 5 landmarks onto a fixed 112x112 template,
and ``feature`` feeds SFace the crop as RGB. The steps below follow them, float32 where they use
float, so served results match the reference; the networks run in face_detector and face_embedder
(BLS), which batch across requests.

One departure, for large video frames: a frame whose longer side passes ``max_side`` is downscaled for
detection (as if FaceDetectorYN were given the smaller image), its faces are mapped back, and the
alignment reads the full-resolution frame.
"""

from __future__ import annotations

import json
from typing import NamedTuple

import cv2
import numpy as np
import triton_python_backend_utils as pb_utils
from vidsafe_model_host.bls import detector_input, infer
from vidsafe_model_host.detector_inputs import face_detector_blob, face_detector_size, padded_to_stride

STRIDES = (8, 16, 32)
DETECTOR_OUTPUTS = [f"{kind}_{stride}" for kind in ("cls", "obj", "bbox", "kps") for stride in STRIDES]
# SFace's landmark template (OpenCV face_recognize.cpp) and the mean OpenCV uses for it, rounded as there.
TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655],
                     [70.7299, 92.2041]], dtype=np.float32)
TEMPLATE_MEAN = np.array([56.0262, 71.9008], dtype=np.float32)
FLT_MIN = float(np.finfo(np.float32).tiny)
FACE_SIZE = 112


def decode(outputs: dict[str, np.ndarray], item: int, padded_width: int, score_threshold: float) -> np.ndarray:
    """One image's anchors scoring >= the threshold -> [M, 15] rows (x, y, w, h, 5 landmarks, score)."""
    rows = []
    for stride in STRIDES:
        cols = padded_width // stride
        cls = np.clip(outputs[f"cls_{stride}"][item, :, 0], 0, 1)
        obj = np.clip(outputs[f"obj_{stride}"][item, :, 0], 0, 1)
        scores = np.sqrt(cls * obj)
        anchors = np.flatnonzero(scores >= np.float32(score_threshold))
        cell = np.stack([anchors % cols, anchors // cols], axis=1).astype(np.float32)  # c, r
        bbox = outputs[f"bbox_{stride}"][item, anchors]
        kps = outputs[f"kps_{stride}"][item, anchors].reshape(-1, 5, 2)
        step = np.float32(stride)
        centre = (cell + bbox[:, :2]) * step
        size = np.exp(bbox[:, 2:]) * step
        landmarks = (kps + cell[:, None, :]) * step
        rows.append(np.concatenate([centre - size / np.float32(2), size, landmarks.reshape(-1, 10),
                                    scores[anchors, None]], axis=1))
    return np.concatenate(rows).astype(np.float32)


def suppress(faces: np.ndarray, score_threshold: float, nms_threshold: float, top_k: int) -> np.ndarray:
    """FaceDetectorYN's NMS: over boxes truncated to ints, best first (a lone face skips it, as there)."""
    if len(faces) <= 1:
        return faces
    boxes = faces[:, :4].astype(np.int32).astype(np.float64).tolist()
    keep = cv2.dnn.NMSBoxes(boxes, faces[:, 14].tolist(), score_threshold, nms_threshold, top_k=top_k)
    return faces[np.asarray(keep, dtype=np.int64).reshape(-1)]


def similarity_transform(landmarks: np.ndarray) -> np.ndarray:
    """2x3 matrix taking 5 landmarks onto the template, as FaceRecognizerSF computes it (Umeyama):
    float32 de-meaning, products in float32 summed in double, the SVD's reflection handling."""
    source = landmarks.astype(np.float32)
    source_mean = source.mean(axis=0)
    source_demeaned = source - source_mean
    target_demeaned = TEMPLATE - TEMPLATE_MEAN
    covariance = (target_demeaned[:, :, None] * source_demeaned[:, None, :]).astype(np.float64).sum(axis=0) / 5
    signs = np.array([1.0, -1.0 if np.linalg.det(covariance) < 0 else 1.0])
    u, singular, vt = np.linalg.svd(covariance)
    rank = int(np.sum(singular > singular.max() * 2 * FLT_MIN))
    if rank == 1:
        rotation = u @ vt if np.linalg.det(u) * np.linalg.det(vt) > 0 else u @ np.diag([1.0, -1.0]) @ vt
    else:
        rotation = u @ np.diag(signs) @ vt
    variance = (source_demeaned * source_demeaned).astype(np.float64).sum() / 5
    scale = float(singular @ signs) / variance
    translation = TEMPLATE_MEAN.astype(np.float64) - scale * (rotation @ source_mean.astype(np.float64))
    return np.concatenate([scale * rotation, translation[:, None]], axis=1)


def align(frame: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The 112x112 crop SFace reads, from the full-resolution frame (RGB in, RGB out)."""
    return cv2.warpAffine(frame, similarity_transform(landmarks), (FACE_SIZE, FACE_SIZE), flags=cv2.INTER_LINEAR)


class Faces(NamedTuple):
    """One frame's faces, best first."""

    boxes: np.ndarray  # [K, 4] x1, y1, x2, y2, clipped to the frame
    scores: np.ndarray  # [K]
    landmarks: np.ndarray  # [K, 5, 2]
    embeddings: np.ndarray  # [K, 128], unit length

    @classmethod
    def of(cls, faces: np.ndarray, embeddings: np.ndarray, width: int, height: int) -> Faces:
        """From [K, 15] FaceDetectorYN rows (x, y, w, h, 5 landmarks, score) in frame pixels."""
        corners = np.concatenate([faces[:, :2], faces[:, :2] + faces[:, 2:4]], axis=1)
        boxes = np.clip(corners, 0, np.array([width, height, width, height], dtype=np.float32))
        return cls(boxes, faces[:, 14], faces[:, 4:14].reshape(-1, 5, 2), embeddings)


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        parameters = json.loads(args["model_config"]).get("parameters", {})

        def parameter(key: str) -> str:
            return parameters[key]["string_value"]

        self.score_threshold = float(parameter("score_threshold"))
        self.nms_threshold = float(parameter("nms_threshold"))
        self.top_k = int(parameter("top_k"))
        self.max_side = int(parameter("max_side"))
        self.embedder_batch = int(parameter("embedder_batch"))
        # The gpu profile prepares the detector's input in a DALI model, on the GPU; the cpu profile right here.
        self.preprocess_model = parameters.get("preprocess_model", {}).get("string_value")
        # cv2 would otherwise spawn a thread per core in every stub, competing with ONNX Runtime.
        cv2.setNumThreads(1)

    def execute(self, requests: list) -> list:
        frames_per_request = [pb_utils.get_input_tensor_by_name(r, "IMAGE").as_numpy() for r in requests]
        valid = [k for k, frames in enumerate(frames_per_request) if frames.shape[1] and frames.shape[2]]
        responses: list = [None] * len(requests)
        for k in sorted(set(range(len(requests))) - set(valid)):
            shape = list(frames_per_request[k].shape)
            error = pb_utils.TritonError(f"IMAGE frames must not be empty, got shape {shape}",
                                         pb_utils.TritonError.INVALID_ARG)
            responses[k] = pb_utils.InferenceResponse(output_tensors=[], error=error)
        if valid:
            # The dynamic batcher only batches requests of one shape: their frames form one detector batch.
            frames = np.ascontiguousarray(np.concatenate([frames_per_request[k] for k in valid]))
            try:
                found = self.find_faces(frames)
            except pb_utils.TritonModelException as failure:
                error = pb_utils.TritonError(str(failure))
                for k in valid:
                    responses[k] = pb_utils.InferenceResponse(output_tensors=[], error=error)
                return responses
            start = 0
            for k in valid:
                count = len(frames_per_request[k])
                responses[k] = pb_utils.InferenceResponse(output_tensors=pack(found[start:start + count]))
                start += count
        return responses

    def find_faces(self, frames: np.ndarray) -> list[Faces]:
        _, height, width, _ = frames.shape
        size = face_detector_size(height, width, self.max_side)
        scale_x, scale_y = np.float32(width / size[0]), np.float32(height / size[1])
        blob = detector_input(self.preprocess_model, frames, size, face_detector_blob)
        outputs = infer("face_detector", {"input": blob}, DETECTOR_OUTPUTS)
        found = []
        for item in range(len(frames)):
            faces = suppress(decode(outputs, item, padded_to_stride(size[0]), self.score_threshold),
                             self.score_threshold, self.nms_threshold, self.top_k)
            faces[:, 0:14:2] *= scale_x  # x, w and the landmarks' x
            faces[:, 1:14:2] *= scale_y
            found.append(faces)
        crops = [align(frame, face[4:14].reshape(5, 2)) for frame, faces in zip(frames, found, strict=True)
                 for face in faces]
        features = np.zeros((len(crops), 128), dtype=np.float32)
        for start in range(0, len(crops), self.embedder_batch):
            batch = np.stack(crops[start:start + self.embedder_batch]).transpose(0, 3, 1, 2).astype(np.float32)
            features[start:start + len(batch)] = infer("face_embedder", {"data": batch}, ["fc1"])["fc1"]
        features /= np.maximum(np.linalg.norm(features, axis=1, keepdims=True), np.float32(1e-12))
        splits = np.cumsum([len(faces) for faces in found])[:-1]
        return [Faces.of(faces, embeddings, width, height)
                for faces, embeddings in zip(found, np.split(features, splits), strict=True)]


def pack(per_frame: list[Faces]) -> list:
    """Output tensors of one request, padded to its largest face count."""
    rows = max(len(faces.scores) for faces in per_frame)
    tensors = {name: np.zeros((len(per_frame), rows, *shape), dtype=np.float32) for name, shape in
               (("BOXES", (4,)), ("SCORES", ()), ("LANDMARKS", (5, 2)), ("EMBEDDINGS", (128,)))}
    counts = np.zeros((len(per_frame), 1), dtype=np.int32)
    for i, faces in enumerate(per_frame):
        count = len(faces.scores)
        for name, values in zip(tensors, faces, strict=True):
            tensors[name][i, :count] = values
        counts[i] = count
    return [*(pb_utils.Tensor(name, array) for name, array in tensors.items()), pb_utils.Tensor("COUNT", counts)]
