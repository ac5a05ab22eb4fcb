"""Where the ocr model's ``space_prob`` comes from: how strongly PP-OCR's recogniser sees a space in a word gap
that CTC decoding drops, against what it sees between two letters of one word.

    .venv/bin/python -m benchmarks.ocr_spaces

Captions of words and digit groups are drawn in OpenCV's Hershey fonts and, where Debian's DejaVu fonts are
installed, in DejaVu Sans, Serif and Sans Bold, at three sizes, and read by rapidocr-onnxruntime's own
detector and recogniser. For each gap between two characters of a correctly read line (its spaces aside), the
largest probability of the recogniser's space class on the steps between them is recorded, as a word gap or
a letter gap by the caption's own text. Writes ``benchmarks/results/ocr_spaces.md``: the two distributions and
the errors of candidate thresholds.
"""

from __future__ import annotations

import itertools
import platform
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from rapidocr_onnxruntime import RapidOCR

RESULTS = Path(__file__).with_name("results") / "ocr_spaces.md"
CAPTIONS = ("Quick brown fox jumps over the dog", "Call 555 0142 now", "Send the money by Friday night",
            "Meet me at the station at noon", "Room 12 at 9 30", "Open 8 to 18", "Free tickets for 2 people",
            "WATCH THE LAUNCH LIVE", "SALE 50 PERCENT", "Visit www example com today", "Limited offer ends tonight",
            "Breaking news from the coast", "Text 0800 123 456", "Win big at Lucky Star", "It is 10 45 am")
HERSHEY = {"Hershey simplex": cv2.FONT_HERSHEY_SIMPLEX, "Hershey duplex": cv2.FONT_HERSHEY_DUPLEX,
           "Hershey complex": cv2.FONT_HERSHEY_COMPLEX}
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
SCALES = (0.7, 1.0, 1.4)
THRESHOLDS = (0.0005, 0.001, 0.0015, 0.002, 0.003, 0.005)


def draw(text: str, font: str, scale: float) -> np.ndarray:
    """A white 1100x200 canvas with ``text`` in black, BGR (as rapidocr takes it)."""
    canvas = np.full((200, 1100, 3), 255, np.uint8)
    if font in HERSHEY:
        return cv2.putText(canvas, text, (20, 110), HERSHEY[font], scale, (0, 0, 0), 2, cv2.LINE_AA)
    image = Image.fromarray(canvas)
    ImageDraw.Draw(image).text((20, 70), text, fill=(0, 0, 0),
                               font=ImageFont.truetype(str(DEJAVU / f"{font}.ttf"), int(32 * scale)))
    return np.asarray(image).copy()


def gaps(engine: RapidOCR, image: np.ndarray) -> tuple[str, list[float]] | None:
    """The line read in ``image`` (one line, or None) and, per gap between two of its non-space characters, the
    largest space probability on the recogniser's steps between them."""
    boxes, _ = engine.text_det(image)
    if boxes is None or len(boxes) != 1:
        return None
    (crop,) = engine.get_crop_img_list(image, boxes)
    recogniser = engine.text_rec
    ratio = max(crop.shape[1] / crop.shape[0], recogniser.rec_image_shape[2] / recogniser.rec_image_shape[1])
    probs = recogniser.session(recogniser.resize_norm_img(crop, ratio)[None].astype(np.float32))[0][0]
    characters = recogniser.postprocess_op.character
    index = probs.argmax(axis=1)
    keep = np.ones(len(index), dtype=bool)
    keep[1:] = index[1:] != index[:-1]
    keep &= index != 0
    steps = [int(t) for t in np.flatnonzero(keep) if characters[index[t]] != " "]
    read = "".join(characters[index[t]] for t in np.flatnonzero(keep))
    return read, [float(probs[a + 1:b, -1].max()) if b > a + 1 else 0.0 for a, b in itertools.pairwise(steps)]


def main() -> None:
    engine = RapidOCR()
    fonts = [*HERSHEY, *(name for name in ("DejaVuSans", "DejaVuSerif", "DejaVuSans-Bold")
                         if (DEJAVU / f"{name}.ttf").is_file())]
    word: list[float] = []
    letter: list[float] = []
    dropped = lines = 0
    for text, font, scale in itertools.product(CAPTIONS, fonts, SCALES):
        found = gaps(engine, draw(text, font, scale))
        # Only lines read right but for their spaces: a misread letter would shift the gaps against the text.
        if found is None or found[0].replace(" ", "") != text.replace(" ", ""):
            continue
        lines += 1
        dropped += found[0].count(" ") < text.count(" ")
        truth = [is_gap for w in text.split(" ") for is_gap in [False] * (len(w) - 1) + [True]][:-1]
        for is_word_gap, prob in zip(truth, found[1], strict=True):
            (word if is_word_gap else letter).append(prob)
    words, letters = np.array(word), np.array(letter)
    rows = [f"| {t:g} | {int(np.sum(words < t))} | {int(np.sum(letters >= t))} |" for t in THRESHOLDS]
    report = "\n".join([
        "# OCR: the recogniser's space probability in word gaps and letter gaps",
        "",
        f"`python -m benchmarks.ocr_spaces` on {platform.processor() or platform.machine()}, fonts: "
        f"{', '.join(fonts)}; sizes {', '.join(map(str, SCALES))}.",
        "",
        f"{lines} lines read right but for their spaces, {dropped} of them with a space dropped by CTC decoding; "
        f"{len(words)} word gaps, {len(letters)} letter gaps.",
        "",
        "| gaps | min | 5th percentile | median | 99th percentile | max |",
        "|---|---|---|---|---|---|",
        *(f"| {name} | {v.min():.4f} | {np.percentile(v, 5):.4f} | {np.median(v):.4f} | {np.percentile(v, 99):.4f} "
          f"| {v.max():.4f} |" for name, v in (("word", words), ("letter", letters))),
        "",
        "| space_prob | word gaps missed | letter gaps split |",
        "|---|---|---|",
        *rows,
        "",
    ])
    RESULTS.write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
