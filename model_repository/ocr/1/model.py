"""Text on screen: PP-OCRv4 on RGB frames, step for step as rapidocr-onnxruntime 1.4.4's ``RapidOCR()`` runs it,
the three networks served by Triton and called through business-logic scripting (BLS).

Why BLS and not an ensemble: how many text lines a frame holds, their crops and which crops to turn upside
down are only known from the previous network's output; an ensemble's fixed graph cannot loop over them.

    frames -> scale, BGR, normalise -> ocr_det -> DB boxes -> perspective crops -> ocr_cls -> turn 180 degrees
           -> ocr_rec -> CTC decoding -> lines with confidence >= text_score, corners mapped back to frame pixels

Every step repeats rapidocr's arithmetic (its resize rounding, float64 normalisation, box finding and
ordering, crop warping, and its recognition chunks: each frame's crops sorted by aspect ratio, six at a
time, padded to the chunk's widest), so served strings match it exactly. Only the batching differs, and
each item of a batch is computed independently: frames of one size go through ocr_det together, every
crop of every frame through ocr_cls together, and chunks of equal padded width through ocr_rec together
(most short lines pad to the same 320 px). Its caller hands rapidocr BGR arrays (cv2's convention); the
frames here are RGB, so they are reversed first and every cv2 call below sees what it sees in rapidocr.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pyclipper
import triton_python_backend_utils as pb_utils
from shapely.geometry import Polygon
from vidsafe_model_host.bls import detector_input, infer
from vidsafe_model_host.detector_inputs import ocr_det_blob, ocr_det_size

# rapidocr 1.4.4's config.yaml and code constants; its thresholds are this model's config parameters.
MAX_SIDE_LEN = 2000  # larger frames are scaled down first,
MIN_SIDE_LEN = 30  # smaller ones scaled up;
MIN_HEIGHT, WIDTH_HEIGHT_RATIO = 30, 8  # frames this short, or this wide, get black bands above and below.
DILATION_KERNEL = np.array([[1, 1], [1, 1]])
MIN_BOX_SIDE = 3
LINE_HEIGHT = 48  # classifier and recogniser input height
CLS_WIDTH = 192
REC_MIN_WIDTH = 320
REC_CHUNK = 6

# (Triton model, input, output): the ONNX graphs' own tensor names, which the gpu profile needs.
DET = ("ocr_det", "x", "sigmoid_0.tmp_0")
CLS = ("ocr_cls", "x", "save_infer_model/scale_0.tmp_1")
REC = ("ocr_rec", "x", "softmax_11.tmp_0")


@dataclass(frozen=True)
class Parameters:
    det_thresh: float
    box_thresh: float
    unclip_ratio: float
    max_candidates: int
    cls_thresh: float
    text_score: float
    space_prob: float
    space_ratio: float


@dataclass
class Frame:
    """One frame on its way through: the BGR image the detector works on, and how it maps back."""

    image: np.ndarray
    width: int  # of the frame as received
    height: int
    ratio_w: float = 1.0
    ratio_h: float = 1.0
    top: int = 0  # black band added above (and below)
    boxes: list[np.ndarray] = field(default_factory=list)  # [4, 2] corners in the image, reading order
    crops: list[np.ndarray] = field(default_factory=list)  # one upright BGR line per box
    lines: list[tuple[str, float]] = field(default_factory=list)  # recognised text and confidence per box


def rescale(image: np.ndarray, side_len: int, longer: bool) -> tuple[np.ndarray, float, float]:
    """rapidocr's reduce_max_side (longer) / increase_min_side: that side to ``side_len``, both sides then
    rounded to multiples of 32. Returns the image and the height and width ratios back to the input."""
    height, width = image.shape[:2]
    ratio = float(side_len) / (max(height, width) if longer else min(height, width))
    resize_h = int(round(int(height * ratio) / 32) * 32)
    resize_w = int(round(int(width * ratio) / 32) * 32)
    if resize_h <= 0 or resize_w <= 0:
        raise ValueError(f"a {width}x{height} frame is too elongated to read text in")
    return cv2.resize(image, (resize_w, resize_h)), height / resize_h, width / resize_w


def prepare(rgb: np.ndarray) -> Frame:
    """RapidOCR.preprocess and maybe_add_letterbox, on the frame turned BGR."""
    height, width = rgb.shape[:2]
    frame = Frame(image=np.ascontiguousarray(rgb[..., ::-1]), width=width, height=height)
    if max(height, width) > MAX_SIDE_LEN:
        frame.image, frame.ratio_h, frame.ratio_w = rescale(frame.image, MAX_SIDE_LEN, longer=True)
    if min(frame.image.shape[:2]) < MIN_SIDE_LEN:
        # rapidocr keeps only this step's ratios when both apply (frames over 66:1); so do we, for parity.
        frame.image, frame.ratio_h, frame.ratio_w = rescale(frame.image, MIN_SIDE_LEN, longer=False)
    height, width = frame.image.shape[:2]
    if height <= MIN_HEIGHT or width / height > WIDTH_HEIGHT_RATIO:
        frame.top = int(abs(max(int(width / WIDTH_HEIGHT_RATIO), MIN_HEIGHT) * 2 - height) / 2)
        frame.image = cv2.copyMakeBorder(frame.image, frame.top, frame.top, 0, 0, cv2.BORDER_CONSTANT,
                                         value=(0, 0, 0))
    return frame


def mini_box(contour: np.ndarray) -> tuple[np.ndarray, float]:
    """DBPostProcess.get_mini_boxes: the minimum-area rectangle's corners (tl, tr, br, bl) and its short side."""
    rect = cv2.minAreaRect(contour)
    points = sorted(cv2.boxPoints(rect), key=lambda p: p[0])
    first, fourth = (0, 1) if points[1][1] > points[0][1] else (1, 0)
    second, third = (2, 3) if points[3][1] > points[2][1] else (3, 2)
    return np.array([points[first], points[second], points[third], points[fourth]]), min(rect[1])


def box_score(pred: np.ndarray, box: np.ndarray) -> float:
    """DBPostProcess.box_score_fast: the mean probability inside the box."""
    height, width = pred.shape
    xmin = np.clip(np.floor(box[:, 0].min()).astype(np.int32), 0, width - 1)
    xmax = np.clip(np.ceil(box[:, 0].max()).astype(np.int32), 0, width - 1)
    ymin = np.clip(np.floor(box[:, 1].min()).astype(np.int32), 0, height - 1)
    ymax = np.clip(np.ceil(box[:, 1].max()).astype(np.int32), 0, height - 1)
    mask = np.zeros((ymax - ymin + 1, xmax - xmin + 1), dtype=np.uint8)
    shifted = box.copy()
    shifted[:, 0] -= xmin
    shifted[:, 1] -= ymin
    cv2.fillPoly(mask, shifted.reshape(1, -1, 2).astype(np.int32), 1)
    return cv2.mean(pred[ymin:ymax + 1, xmin:xmax + 1], mask)[0]


def unclip(box: np.ndarray, ratio: float) -> np.ndarray | None:
    """DBPostProcess.unclip: grow the box back by area * ratio / perimeter (DB learns shrunk regions)."""
    polygon = Polygon(box)
    offset = pyclipper.PyclipperOffset()
    offset.AddPath(box, pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    paths = offset.Execute(polygon.area * ratio / polygon.length)
    # rapidocr raises here on anything but one outline (never seen for a convex box); we drop the box.
    return np.array(paths).reshape((-1, 1, 2)) if len(paths) == 1 else None


def order_clockwise(box: np.ndarray) -> np.ndarray:
    """TextDetector.order_points_clockwise: tl, tr, br, bl."""
    by_x = box[np.argsort(box[:, 0]), :]
    left, right = by_x[:2], by_x[2:]
    top_left, bottom_left = left[np.argsort(left[:, 1]), :]
    top_right, bottom_right = right[np.argsort(right[:, 1]), :]
    return np.array([top_left, top_right, bottom_right, bottom_left], dtype="float32")


def reading_order(boxes: list[np.ndarray]) -> list[np.ndarray]:
    """RapidOCR.sorted_boxes: top to bottom, then left to right among boxes whose tops are < 10 px apart."""
    ordered = sorted(boxes, key=lambda b: (b[0][1], b[0][0]))
    for i in range(len(ordered) - 1):
        for j in range(i, -1, -1):
            if abs(ordered[j + 1][0][1] - ordered[j][0][1]) < 10 and ordered[j + 1][0][0] < ordered[j][0][0]:
                ordered[j], ordered[j + 1] = ordered[j + 1], ordered[j]
            else:
                break
    return ordered


def find_boxes(pred: np.ndarray, height: int, width: int, params: Parameters) -> list[np.ndarray]:
    """DBPostProcess, TextDetector.filter_tag_det_res and sorted_boxes: a probability map of an image of
    ``width`` x ``height`` -> text quads [4, 2] float32 in that image's pixels, in reading order."""
    bitmap = cv2.dilate((pred > params.det_thresh).astype(np.uint8), DILATION_KERNEL)
    map_h, map_w = bitmap.shape
    contours, _ = cv2.findContours((bitmap * 255).astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    boxes = []
    for contour in contours[: params.max_candidates]:
        points, side = mini_box(contour)
        if side < MIN_BOX_SIDE or box_score(pred, points.reshape(-1, 2)) < params.box_thresh:
            continue
        grown = unclip(points, params.unclip_ratio)
        if grown is None:
            continue
        box, side = mini_box(grown)
        if side < MIN_BOX_SIDE + 2:
            continue
        box[:, 0] = np.clip(np.round(box[:, 0] / map_w * width), 0, width)
        box[:, 1] = np.clip(np.round(box[:, 1] / map_h * height), 0, height)
        box = order_clockwise(box.astype(np.int32))
        for point in box:
            point[0] = int(min(max(point[0], 0), width - 1))
            point[1] = int(min(max(point[1], 0), height - 1))
        if int(np.linalg.norm(box[0] - box[1])) <= MIN_BOX_SIDE or int(np.linalg.norm(box[0] - box[3])) <= MIN_BOX_SIDE:
            continue
        boxes.append(box)
    return reading_order(boxes)


def crop_line(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """RapidOCR.get_crop_img_list: the quad warped to an upright rectangle; tall ones are turned 90 degrees."""
    width = int(max(np.linalg.norm(box[0] - box[1]), np.linalg.norm(box[2] - box[3])))
    height = int(max(np.linalg.norm(box[0] - box[3]), np.linalg.norm(box[1] - box[2])))
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]]).astype(np.float32)
    crop = cv2.warpPerspective(image, cv2.getPerspectiveTransform(box, target), (width, height),
                               borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC)
    return np.rot90(crop) if crop.shape[0] * 1.0 / crop.shape[1] >= 1.5 else crop


def line_input(crop: np.ndarray, width: int) -> np.ndarray:
    """The classifier's and recogniser's resize_norm_img: height 48 keeping the aspect ratio (at most
    ``width``), scaled to [-1, 1], right-padded with 0 to ``width``."""
    ratio = crop.shape[1] / float(crop.shape[0])
    resized_w = min(math.ceil(LINE_HEIGHT * ratio), width)
    resized = cv2.resize(crop, (resized_w, LINE_HEIGHT)).astype("float32").transpose((2, 0, 1)) / 255
    resized -= 0.5
    resized /= 0.5
    padded = np.zeros((3, LINE_HEIGHT, width), dtype=np.float32)
    padded[:, :, :resized_w] = resized
    return padded


def rec_chunks(crops: list[np.ndarray]) -> list[tuple[int, list[int]]]:
    """TextRecognizer's batches: crops sorted by aspect ratio, six at a time, each chunk padded to the width
    of its widest (at least 320). The padding reaches the network's global attention, so it is kept as is."""
    ratios = [crop.shape[1] / float(crop.shape[0]) for crop in crops]
    order = np.argsort(np.array(ratios))
    chunks = []
    for start in range(0, len(crops), REC_CHUNK):
        members = [int(i) for i in order[start:start + REC_CHUNK]]
        max_ratio = max([REC_MIN_WIDTH / LINE_HEIGHT] + [ratios[i] for i in members])
        chunks.append((int(LINE_HEIGHT * max_ratio), members))
    return chunks


def ctc_decode(probs: np.ndarray, characters: list[str], space_prob: float, space_ratio: float) -> tuple[str, float]:
    """CTCLabelDecode: best class per time step, repeats merged, blanks dropped; confidence is the mean
    probability of the characters kept. Besides, the spaces CTCLabelDecode drops go back: on tightly set captions
    the blank outscores the space in every step of a word gap ("Text0800123456"), so no word of the line could be
    searched for. Such a space adds no confidence: the score stays CTCLabelDecode's.

    A gap between two characters gets a space where the space class peaks, on the steps between them, at
    ``space_prob`` or more and at ``space_ratio`` times the line's typical gap's peak or more: the lower median
    of its gaps' peaks, most gaps being between letters (a line of one gap has none). Bold, outlined and shadowed
    glyphs raise the space class between all the letters of a line, where ``space_prob`` alone split their words
    ("MO RNING")."""
    index, prob = probs.argmax(axis=1), probs.max(axis=1)
    keep = np.ones(len(index), dtype=bool)
    keep[1:] = index[1:] != index[:-1]
    keep &= index != 0
    confidences = prob[keep].tolist() or [0]
    space = len(characters) - 1
    steps = np.flatnonzero(keep)
    gaps = [(here, following) for here, following in itertools.pairwise(steps)
            if space not in (index[here], index[following])]
    peaks = [probs[here + 1:following, space].max(initial=0.0) for here, following in gaps]
    typical = sorted(peaks)[(len(peaks) - 1) // 2] if len(peaks) > 1 else 0.0
    threshold = max(space_prob, space_ratio * typical)
    spaced = {following for (_, following), peak in zip(gaps, peaks, strict=True) if peak >= threshold}
    text = "".join(" " * (step in spaced) + characters[index[step]] for step in steps)
    return text, float(np.mean(confidences))


def frame_pixels(box: np.ndarray, frame: Frame) -> np.ndarray:
    """RapidOCR._get_origin_points: undo the letterbox band, then the scaling; clip to the frame."""
    points = box.astype(np.float32)
    points[:, 1] -= frame.top
    points[:, 0] *= frame.ratio_w
    points[:, 1] *= frame.ratio_h
    points = np.where(points < 0, 0, points)
    points[:, 0] = np.where(points[:, 0] > frame.width, frame.width, points[:, 0])
    points[:, 1] = np.where(points[:, 1] > frame.height, frame.height, points[:, 1])
    return points


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        # cv2 would otherwise spawn a thread per core in every stub, competing with ONNX Runtime.
        cv2.setNumThreads(1)
        parameters = json.loads(args["model_config"]).get("parameters", {})

        def parameter(key: str) -> str:
            return parameters[key]["string_value"]

        self.params = Parameters(
            det_thresh=float(parameter("det_thresh")), box_thresh=float(parameter("box_thresh")),
            unclip_ratio=float(parameter("unclip_ratio")), max_candidates=int(parameter("max_candidates")),
            cls_thresh=float(parameter("cls_thresh")), text_score=float(parameter("text_score")),
            space_prob=float(parameter("space_prob")), space_ratio=float(parameter("space_ratio")),
        )
        self.max_batch = {name: int(parameter(f"{name.removeprefix('ocr_')}_max_batch"))
                          for name in (DET[0], CLS[0], REC[0])}
        # The gpu profile prepares the detector's input in a DALI model, on the GPU; the cpu profile right here.
        self.preprocess_model = parameters.get("preprocess_model", {}).get("string_value")
        path = Path(args["model_repository"]) / args["model_version"] / "characters.json"
        if not path.is_file():
            raise pb_utils.TritonModelException(f"{path} is missing: export the models first (vidsafe export ocr)")
        # CTC class 0 is the blank and the last class a space, around the dictionary (CTCLabelDecode).
        self.characters = ["blank", *json.loads(path.read_text(encoding="utf-8")), " "]

    def run_network(self, model: tuple[str, str, str], batch: np.ndarray) -> np.ndarray:
        """Run ``batch`` through one of the networks, in requests of at most its max_batch_size."""
        name, input_name, output_name = model
        outputs = []
        for start in range(0, len(batch), self.max_batch[name]):
            part = batch[start:start + self.max_batch[name]]
            outputs.append(infer(name, {input_name: part}, [output_name])[output_name])
        return np.concatenate(outputs)

    def detect(self, frames: list[Frame]) -> None:
        # Images of one size go through the detector together (their blobs stack).
        by_size: dict[tuple[int, ...], list[Frame]] = defaultdict(list)
        for frame in frames:
            by_size[frame.image.shape].append(frame)
        name, input_name, output_name = DET
        step = self.max_batch[name]
        for group in by_size.values():
            size = ocr_det_size(group[0].image)
            maps = []
            for start in range(0, len(group), step):
                images = np.stack([frame.image for frame in group[start:start + step]])
                blob = detector_input(self.preprocess_model, images, size, ocr_det_blob)
                maps.append(infer(name, {input_name: blob}, [output_name])[output_name])
            for frame, pred in zip(group, np.concatenate(maps), strict=True):
                frame.boxes = find_boxes(pred[0], *frame.image.shape[:2], self.params)
                frame.crops = [crop_line(frame.image, box) for box in frame.boxes]

    def turn_upside_down_lines(self, frames: list[Frame]) -> None:
        crops = [(frame, k) for frame in frames for k in range(len(frame.crops))]
        if not crops:
            return
        probs = self.run_network(CLS, np.stack([line_input(frame.crops[k], CLS_WIDTH) for frame, k in crops]))
        for (frame, k), prob in zip(crops, probs, strict=True):
            if prob.argmax() == 1 and prob[1] > self.params.cls_thresh:
                frame.crops[k] = cv2.rotate(frame.crops[k], cv2.ROTATE_180)

    def recognise(self, frames: list[Frame]) -> None:
        by_width: dict[int, list[tuple[Frame, int]]] = defaultdict(list)
        for frame in frames:
            frame.lines = [("", 0.0)] * len(frame.crops)
            for width, members in rec_chunks(frame.crops):
                by_width[width].extend((frame, k) for k in members)
        for width, items in by_width.items():
            probs = self.run_network(REC, np.stack([line_input(frame.crops[k], width) for frame, k in items]))
            for (frame, k), line_probs in zip(items, probs, strict=True):
                frame.lines[k] = ctc_decode(line_probs, self.characters, self.params.space_prob,
                                            self.params.space_ratio)

    def respond(self, frames: list[Frame]) -> pb_utils.InferenceResponse:
        found = [[(text, score, frame_pixels(box, frame))
                  for box, (text, score) in zip(frame.boxes, frame.lines, strict=True)
                  if score >= self.params.text_score] for frame in frames]
        # Tensors must be rectangular: pad every frame to the request's largest count.
        rows = max((len(lines) for lines in found), default=0)
        texts = np.full((len(frames), rows), b"", dtype=np.object_)
        scores = np.zeros((len(frames), rows), dtype=np.float32)
        polygons = np.zeros((len(frames), rows, 4, 2), dtype=np.float32)
        counts = np.zeros((len(frames), 1), dtype=np.int32)
        for i, lines in enumerate(found):
            counts[i] = len(lines)
            for k, (text, score, polygon) in enumerate(lines):
                texts[i, k], scores[i, k], polygons[i, k] = text.encode(), score, polygon
        return pb_utils.InferenceResponse(output_tensors=[
            pb_utils.Tensor("TEXTS", texts), pb_utils.Tensor("SCORES", scores),
            pb_utils.Tensor("POLYGONS", polygons), pb_utils.Tensor("COUNT", counts),
        ])

    def execute(self, requests: list) -> list:
        responses: list[pb_utils.InferenceResponse | None] = [None] * len(requests)
        batches: dict[int, list[Frame]] = {}
        for r, request in enumerate(requests):
            images = pb_utils.get_input_tensor_by_name(request, "IMAGE").as_numpy()
            try:
                if images.shape[1] == 0 or images.shape[2] == 0:
                    raise ValueError(f"IMAGE frames must not be empty, got shape {list(images.shape)}")
                batches[r] = [prepare(image) for image in images]
            except ValueError as error:
                responses[r] = pb_utils.InferenceResponse(
                    output_tensors=[], error=pb_utils.TritonError(str(error), pb_utils.TritonError.INVALID_ARG))
        # All requests of this execute() go through each network together.
        frames = [frame for batch in batches.values() for frame in batch]
        self.detect(frames)
        self.turn_upside_down_lines(frames)
        self.recognise(frames)
        for r, batch in batches.items():
            responses[r] = self.respond(batch)
        return responses

    def finalize(self) -> None:
        pass
