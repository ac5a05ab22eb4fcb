"""How well the ocr model's spaces keep words whole, and where its ``space_prob`` and ``space_ratio`` come from.

    .venv/bin/python -m benchmarks.ocr_spaces

Reads the generated caption set of benchmarks/ocr_captions.py (its fonts need Debian's fonts-dejavu-core,
fonts-dejavu-extra, fonts-liberation, fonts-roboto-unhinted and fonts-lato) with rapidocr-onnxruntime's networks,
and decodes every line with the served model's own ``ctc_decode``. Per font and size it counts the letter gaps
split (a space inside a word), the word gaps missed (two words run together), both over the gaps whose two
characters were read, and the words read exactly. The captions are split in two by their place in the set: the
parameters are chosen on the even ones (the fewest gap errors over a grid, among the rules under which no font
reads fewer words than under the rule before, ``space_prob`` alone), and the errors are reported on the odd ones,
which no choice has seen, for the rule before and the chosen one. Takes 20 to 40 minutes on 2 cores. Writes
``benchmarks/results/ocr_spaces.md``.
"""

from __future__ import annotations

import itertools
import os
import platform
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from difflib import SequenceMatcher
from pathlib import Path

import numpy as np
from rapidocr_onnxruntime import RapidOCR

from benchmarks.ocr_captions import SIZES, STYLES, TEXT_SCORE, captions, decodable_classes, draw, line_probabilities
from tests.helpers.model_configs import import_model, load_config

RESULTS = Path(__file__).with_name("results") / "ocr_spaces.md"
CAPTIONS, SEED = 32, 12
PARTS = ("tuning", "held out")  # even captions choose the parameters, odd ones measure them
# The grid the parameters are chosen from. Tight fonts' word gaps peak down to 0.0016 (the rule before's
# measurement), so space_prob goes no higher than 0.003.
SPACE_PROBS = (0.001, 0.0015, 0.002, 0.003)
SPACE_RATIOS = (0.0, 10.0, 20.0, 30.0, 50.0, 70.0, 100.0, 150.0, 200.0, 300.0)

Rule = tuple[float, float]  # space_prob, space_ratio
Decoder = Callable[[np.ndarray, list[str], float, float], tuple[str, float]]
PREVIOUS: Rule = (0.0015, 0.0)  # the rule before: space_prob alone, measured on Hershey and DejaVu fonts


@dataclass(frozen=True)
class Reading:
    """One caption's frame: what was drawn, and the recogniser's probabilities of each line found in it."""

    caption: str
    style: str
    size: int
    part: str
    lines: list[tuple[np.ndarray, list[str]]]


@dataclass
class Counts:
    """Gaps and words of some captions, and how many of them were read wrong (or right)."""

    letter_gaps: int = 0
    split: int = 0
    word_gaps: int = 0
    missed: int = 0
    words: int = 0
    read: int = 0  # words read exactly

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @property
    def errors(self) -> int:
        return self.split + self.missed


def read_captions(engine: RapidOCR) -> list[Reading]:
    """Every caption of the set in every available style and size, its looks taken in turn per pair of captions
    (so that both parts see each look)."""
    characters = engine.text_rec.postprocess_op.character
    styles = [style for style in STYLES if style.available]
    readings = []
    for k, caption in enumerate(captions(CAPTIONS, SEED)):
        for style, size in itertools.product(styles, SIZES):
            image = draw(caption, style, size, style.looks[k // 2 % len(style.looks)], seed=k)
            lines = [decodable_classes(probs, characters) for probs in line_probabilities(engine, image)]
            readings.append(Reading(caption, style.name, size, PARTS[k % 2], lines))
    return readings


def read_text(reading: Reading, decode: Decoder, rule: Rule) -> str:
    """The caption as the served model reports it: its lines of enough confidence, in reading order."""
    lines = (decode(probs, characters, *rule) for probs, characters in reading.lines)
    return " ".join(text for text, score in lines if score >= TEXT_SCORE)


def without_spaces(text: str) -> tuple[str, list[bool]]:
    """``text``'s characters but spaces, and whether a space came before each."""
    characters, spaced, after_space = [], [], False
    for character in text:
        if character == " ":
            after_space = True
            continue
        characters.append(character)
        spaced.append(after_space)
        after_space = False
    return "".join(characters), spaced


def counts(caption: str, read: str) -> Counts:
    """Gap errors over the gaps whose two characters were both read, next to each other (aligned by difflib, so a
    misread letter costs only its own two gaps); words read exactly, aligned the same way."""
    truth, word_gap = without_spaces(caption)
    found, spaced = without_spaces(read)
    result = Counts(words=len(caption.split()))
    for block in SequenceMatcher(None, truth, found, autojunk=False).get_matching_blocks():
        for offset in range(1, block.size):
            is_word_gap, has_space = word_gap[block.a + offset], spaced[block.b + offset]
            result.word_gaps += is_word_gap
            result.missed += is_word_gap and not has_space
            result.letter_gaps += not is_word_gap
            result.split += not is_word_gap and has_space
    matcher = SequenceMatcher(None, caption.split(), read.split(), autojunk=False)
    result.read = sum(block.size for block in matcher.get_matching_blocks())
    return result


def measure(readings: Iterable[Reading], decode: Decoder, rule: Rule) -> dict[tuple[str, int], Counts]:
    """Counts per (style, size) of ``readings`` under ``rule``."""
    table: dict[tuple[str, int], Counts] = defaultdict(Counts)
    for reading in readings:
        table[reading.style, reading.size] += counts(reading.caption, read_text(reading, decode, rule))
    return table


def total(table: dict[tuple[str, int], Counts], style: str | None = None) -> Counts:
    """``table``'s counts summed over every size of ``style``, or over all."""
    return sum((c for (name, _), c in table.items() if style in (None, name)), Counts())


def neighbours(rule: Rule) -> list[Rule]:
    """``rule`` and the grid's rules a step from it in space_prob, space_ratio or both."""
    i, j = SPACE_PROBS.index(rule[0]), SPACE_RATIOS.index(rule[1])
    return list(itertools.product(SPACE_PROBS[max(i - 1, 0):i + 2], SPACE_RATIOS[max(j - 1, 0):j + 2]))


def choose(readings: list[Reading], decode: Decoder) -> tuple[Rule, dict[Rule, Counts], set[Rule]]:
    """The grid's rule with the fewest gap errors on ``readings``, of those under which no font reads fewer words
    than under the rule before; of equals, the one whose neighbours on the grid have the fewest on average (the
    middle of a plateau rather than its edge), then the one reading the most words. Also every rule's counts, and
    the rules no font is worse under."""
    tables = {rule: measure(readings, decode, rule) for rule in itertools.product(SPACE_PROBS, SPACE_RATIOS)}
    grid = {rule: total(table) for rule, table in tables.items()}
    styles = {style for style, _ in tables[PREVIOUS]}
    no_worse = {rule for rule, table in tables.items()
                if all(total(table, style).read >= total(tables[PREVIOUS], style).read for style in styles)}

    def key(rule: Rule) -> tuple[int, float, int]:
        around = neighbours(rule)
        return grid[rule].errors, sum(grid[other].errors for other in around) / len(around), -grid[rule].read

    return min((rule for rule in grid if rule in no_worse), key=key), grid, no_worse


def share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "-"


def row(label: str, old: Counts, new: Counts) -> str:
    return (f"| {label} | {new.letter_gaps} | {old.split} | {new.split} | {new.word_gaps} | {old.missed} | "
            f"{new.missed} | {new.words} | {share(old.read, old.words)} | {share(new.read, new.words)} |")


HEADER = ["| | letter gaps | split, before | split, now | word gaps | missed, before | missed, now | words "
          "| read exactly, before | read exactly, now |", "|---|---|---|---|---|---|---|---|---|---|"]


def part_tables(old: dict[tuple[str, int], Counts], new: dict[tuple[str, int], Counts]) -> list[str]:
    """Per font and size, per font, and the part's total."""
    styles = list(dict.fromkeys(style for style, _ in new))
    lines = ["By font and size:", "", *HEADER]
    lines += [row(f"{style}, {size} px", old[style, size], new[style, size]) for style in styles for size in SIZES]
    lines += ["", "By font, all sizes:", "", *HEADER]
    lines += [row(style, total(old, style), total(new, style)) for style in styles]
    lines.append(row("**all**", total(old), total(new)))
    return lines


def grid_table(grid: dict[Rule, Counts], no_worse: set[Rule]) -> list[str]:
    """Letter gaps split + word gaps missed on the tuning part, per space_prob (rows) and space_ratio (columns)."""

    def cell(rule: Rule) -> str:
        return f"{grid[rule].split} + {grid[rule].missed}" + ("" if rule in no_worse else " (worse)")

    return ["| space_prob \\ space_ratio | " + " | ".join(f"{ratio:g}" for ratio in SPACE_RATIOS) + " |",
            "|---|" + "---|" * len(SPACE_RATIOS),
            *(f"| {prob:g} | " + " | ".join(cell((prob, ratio)) for ratio in SPACE_RATIOS) + " |"
              for prob in SPACE_PROBS)]


def served_rule() -> Rule:
    """The served config's space_prob and space_ratio."""
    parameters = load_config("ocr").parameters
    return float(parameters["space_prob"].string_value), float(parameters["space_ratio"].string_value)


def parameters(rule: Rule) -> str:
    return f"space_prob = {rule[0]:g}, space_ratio = {rule[1]:g}"


def report(readings: list[Reading], decode: Decoder, seconds: float) -> str:
    tuning = [reading for reading in readings if reading.part == PARTS[0]]
    held_out = [reading for reading in readings if reading.part == PARTS[1]]
    chosen, grid, no_worse = choose(tuning, decode)
    old, new = measure(held_out, decode, PREVIOUS), measure(held_out, decode, chosen)
    old_tuning, new_tuning = total(measure(tuning, decode, PREVIOUS)), grid[chosen]
    styles = list(dict.fromkeys(reading.style for reading in readings))
    served = served_rule()
    return "\n".join([
        "# OCR: spaces between words, kept whole on every font",
        "",
        f"`python -m benchmarks.ocr_spaces` on {platform.machine()} with {os.cpu_count()} cores, "
        f"{len(readings)} frames read in {seconds / 60:.0f} min: {CAPTIONS} generated captions "
        f"(benchmarks/ocr_captions.py, seed {SEED}), half of them in capitals, in {len(styles)} styles "
        f"({'; '.join(styles)}) at {', '.join(map(str, SIZES))} px; the plain styles black on a light band and "
        "white on a darkened picture, taken in turn.",
        "",
        f"Rule before: a space in a gap where the space class peaks at space_prob = {PREVIOUS[0]:g} or more. Rule "
        "now (model.py's ctc_decode): where it also peaks at space_ratio times the line's typical gap's peak (the "
        "lower median of its gaps' peaks).",
        "",
        f"Chosen on the {len(tuning)} frames of the even captions: **{parameters(chosen)}**, with "
        f"{new_tuning.split} letter gaps split and {new_tuning.missed} word gaps missed there, against "
        f"{old_tuning.split} and {old_tuning.missed} before. The served config (model_repository/ocr/config.pbtxt) "
        f"has {parameters(served)}: " + ("these." if served == chosen else "**not these: update it**."),
        "",
        f"## Held out: the {len(held_out)} frames of the odd captions",
        "",
        "Gap counts are over the gaps whose two characters were both read; words read exactly are of the "
        "caption's words (a word misread, or cut by the detector into two lines, counts as not read, under both "
        "rules alike).",
        "",
        *part_tables(old, new),
        "",
        "## Tuning: letter gaps split + word gaps missed, per candidate",
        "",
        "(worse): some font reads fewer words than under the rule before, which rules the candidate out.",
        "",
        *grid_table(grid, no_worse),
        "",
    ])


def main() -> None:
    decode = import_model("ocr").ctc_decode
    start = time.monotonic()
    readings = read_captions(RapidOCR())
    text = report(readings, decode, time.monotonic() - start)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
