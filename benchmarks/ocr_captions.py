"""A generated caption set for the OCR benchmarks, and the recogniser's probabilities for each caption.

Captions of words, names and digit groups are drawn in several fonts and looks (black on a light band over a
picture, white on a darkened picture, and white with a black outline or a drop shadow on the picture, as subtitles
and display titles are), at several sizes, and read by rapidocr-onnxruntime's own networks step for step as the
served ocr model runs them. The fonts are Debian's: fonts-dejavu-core, fonts-dejavu-extra (the condensed face),
fonts-liberation (its narrow faces are not in fonts-liberation2), fonts-roboto-unhinted and fonts-lato (the heavy
display faces); a style whose font file is missing is skipped. OpenCV's own font needs none.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from rapidocr_onnxruntime import RapidOCR
from skimage import data

FONTS = Path("/usr/share/fonts/truetype")
# cv2.putText's FONT_HERSHEY_SIMPLEX (OpenCV 5 draws it as a smooth face of its own): the served model's test
# frames' font, set so tightly that CTC drops its word gaps.
OPENCV_FONT = "OpenCV simplex"
SIZES = (24, 40, 64)  # font size in pixels: small and usual subtitles, a display title
PICTURES = (data.astronaut, data.coffee, data.chelsea, data.rocket)
TEXT_SCORE = 0.5  # the served model reports a line when its confidence is >= this (config.pbtxt's text_score)

Look = Literal["band", "dark", "outline", "shadow"]


@dataclass(frozen=True)
class Style:
    """A font, and the looks its captions are drawn in (taken in turn)."""

    name: str
    font: str  # its file under FONTS, or OPENCV_FONT
    looks: tuple[Look, ...]

    @property
    def available(self) -> bool:
        return self.font == OPENCV_FONT or (FONTS / self.font).is_file()


STYLES = (
    Style("DejaVu Sans", "dejavu/DejaVuSans.ttf", ("band", "dark")),
    Style("Liberation Sans", "liberation/LiberationSans-Regular.ttf", ("band", "dark")),
    Style(OPENCV_FONT, OPENCV_FONT, ("band", "dark")),
    Style("DejaVu Sans Bold", "dejavu/DejaVuSans-Bold.ttf", ("band", "dark")),
    Style("DejaVu Sans Condensed", "dejavu/DejaVuSansCondensed.ttf", ("band", "dark")),
    Style("Liberation Sans Narrow Bold", "liberation/LiberationSansNarrow-Bold.ttf", ("band", "dark")),
    Style("DejaVu Serif", "dejavu/DejaVuSerif.ttf", ("band", "dark")),
    Style("Liberation Serif Bold", "liberation/LiberationSerif-Bold.ttf", ("band", "dark")),
    Style("Liberation Sans Bold + outline", "liberation/LiberationSans-Bold.ttf", ("outline",)),
    Style("DejaVu Sans Bold + shadow", "dejavu/DejaVuSans-Bold.ttf", ("shadow",)),
    Style("Roboto Black + outline", "roboto/unhinted/RobotoTTF/Roboto-Black.ttf", ("outline",)),
    Style("Lato Black + shadow", "lato/Lato-Black.ttf", ("shadow",)),
)

# Caption words (lower case) and names, split on white space.
WORDS = """the a to of and in is it you that for on with this at be from by not are we all your now new more one
time people news today live tonight night day week year home world city team game match final show music money
price offer sale free call watch meet room open closed station train weather storm rain coast road bridge police
fire water power market report update breaking exclusive interview season episode chapter minute hour morning
evening friday monday sunday ticket tickets winner results start stop never always every please thanks sorry help
message number window office kitchen garden summer winter spring autumn village mountain island river harbour"""
NAMES = "London Paris Berlin Madrid Lisbon Oslo Lucky Star Channel Premier League Grand Prix Mike Anna Tom Lee"


def captions(count: int, seed: int) -> list[str]:
    """``count`` captions of three to seven words, some of them names and digit groups (phone numbers, scores,
    prices): four in sentence case, then four in capitals (display titles, lower thirds), and so on, so that the
    even and the odd captions, and every other pair, have both."""
    rng = random.Random(seed)
    vocabulary, names = WORDS.split(), NAMES.split()
    made = []
    for k in range(count):
        words = []
        for _ in range(rng.randint(3, 7)):
            pick = rng.random()
            if pick < 0.12:
                words.append(str(rng.randrange(10 ** rng.randint(1, 4))).zfill(rng.randint(1, 4)))
            elif pick < 0.25:
                words.append(rng.choice(names))
            else:
                words.append(rng.choice(vocabulary))
        words[0] = words[0][:1].upper() + words[0][1:]
        made.append(" ".join(words).upper() if k // 4 % 2 else " ".join(words))
    return made


def picture(width: int, height: int, seed: int) -> Image.Image:
    """A video-like background: one of scikit-image's photos, scaled and cropped to the frame."""
    photo = Image.fromarray(PICTURES[seed % len(PICTURES)]())
    scale = max(width / photo.width, height / photo.height)
    photo = photo.resize((int(photo.width * scale) + 1, int(photo.height * scale) + 1), Image.Resampling.BILINEAR)
    return photo.crop((0, 0, width, height))


def opencv_scale(size: int) -> tuple[float, int]:
    """cv2.putText's scale and stroke thickness for text as tall as a TrueType font's of ``size`` px (capitals are
    about 0.73 em); at scale 1 the stroke is 2, as in the served model's test frames."""
    scale = cv2.getFontScaleFromHeight(cv2.FONT_HERSHEY_SIMPLEX, round(0.73 * size))
    return scale, max(2, round(2 * scale))


def draw(caption: str, style: Style, size: int, look: Look, seed: int) -> np.ndarray:
    """A frame (BGR, as rapidocr takes it) with ``caption`` on one line, in ``style`` at ``size`` px, in ``look``,
    with a margin of ``size`` around the text. TrueType text is laid out without HarfBuzz (Pillow's basic layout),
    so frames do not depend on how Pillow was built."""
    stroke = max(2, size // 12) if look == "outline" else 0
    if style.font == OPENCV_FONT:
        scale, thickness = opencv_scale(size)
        (text_w, text_h), below = cv2.getTextSize(caption, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        left, top, right, bottom = 0, -text_h, text_w, below
    else:
        font = ImageFont.truetype(str(FONTS / style.font), size, layout_engine=ImageFont.Layout.BASIC)
        left, top, right, bottom = font.getbbox(caption, stroke_width=stroke)
    width, height = right - left + 4 * size, bottom - top + 4 * size
    image = picture(width, height, seed)
    origin = (2 * size - left, 2 * size - top)
    colour = (0, 0, 0) if look == "band" else (255, 255, 255)
    if look == "band":
        ImageDraw.Draw(image).rectangle((0, size, width, height - size), fill=(245, 245, 240))
    elif look == "dark":
        image = Image.eval(image, lambda value: value * 2 // 5)
    elif look == "shadow":
        shadow = Image.new("L", image.size, 0)
        offset = max(2, size // 14)
        ImageDraw.Draw(shadow).text((origin[0] + offset, origin[1] + offset), caption, font=font, fill=255)
        image.paste((0, 0, 0), mask=shadow.filter(ImageFilter.GaussianBlur(offset / 2)))
    if style.font == OPENCV_FONT:
        frame = np.ascontiguousarray(np.asarray(image)[..., ::-1])
        return cv2.putText(frame, caption, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thickness, cv2.LINE_AA)
    ImageDraw.Draw(image).text(origin, caption, font=font, fill=colour, stroke_width=stroke, stroke_fill=(0, 0, 0))
    return np.ascontiguousarray(np.asarray(image)[..., ::-1])


def line_probabilities(engine: RapidOCR, image: np.ndarray) -> list[np.ndarray]:
    """The recogniser's class probabilities per step [T, classes] of each text line found in ``image``, in reading
    order, as ``RapidOCR()`` and the served ocr model compute them: the frame scaled and letterboxed, lines found,
    cropped and turned upright, then recognised six at a time by aspect ratio, each chunk padded to its widest."""
    scaled, _, _ = engine.preprocess(image)
    boxed, _ = engine.maybe_add_letterbox(scaled, {})
    boxes, _ = engine.auto_text_det(boxed)
    if boxes is None:
        return []
    crops, _, _ = engine.text_cls(engine.get_crop_img_list(boxed, boxes))
    recogniser = engine.text_rec
    _, line_height, min_width = recogniser.rec_image_shape
    ratios = [crop.shape[1] / crop.shape[0] for crop in crops]
    order = [int(i) for i in np.argsort(np.array(ratios))]
    lines: dict[int, np.ndarray] = {}
    for start in range(0, len(order), recogniser.rec_batch_num):
        members = order[start:start + recogniser.rec_batch_num]
        widest = max(min_width / line_height, *(ratios[i] for i in members))
        batch = np.stack([recogniser.resize_norm_img(crops[i], widest) for i in members]).astype(np.float32)
        lines.update(zip(members, recogniser.session(batch)[0], strict=True))
    return [lines[i] for i in range(len(crops))]


def decodable_classes(probs: np.ndarray, characters: list[str]) -> tuple[np.ndarray, list[str]]:
    """``probs`` kept to the classes CTC decoding looks at (the blank first, every step's best class, the space
    last), with their characters: decoding reads the same text from them, in a fraction of the memory."""
    classes = np.unique(np.concatenate([[0], probs.argmax(axis=1), [len(characters) - 1]]))
    return np.ascontiguousarray(probs[:, classes]), [characters[c] for c in classes]
