"""Cuts between shots, found while decoding, from a small signature of every decoded frame.

A frame starts a new shot when its colours differ from the decoded frame before it as PySceneDetect's
ContentDetector measures it (the mean change of hue, saturation and value, 0-255, over the frame) by at least
``shot_threshold``, or when most of the picture's brightness changes at once, which catches a cut between two
grey pictures (ContentDetector's hue and saturation do not move there). A caption appearing changes a band,
not most of the picture, and is no cut. Shots shorter than ``shot_min_s`` are not split off.

The signature (64 x 36 RGB, converted by the decoder's scaler) costs well under a millisecond a frame; the
frame loop reuses its grey version to tell how much a sampled frame changed since a stage last ran on one
(``picture_change``): after undoing the camera's pan (the shift phase correlation finds), the largest change
of any cell, so a pan over a still picture is no change, and a caption or a face appearing in one corner is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import av
import cv2
import numpy as np

SIGNATURE_SIZE = (64, 36)  # width, height
CELLS = (6, 8)  # rows, columns of the grid a change is measured on (cells of 6 x 8 signature pixels)
CUT_CELL_DELTA = 15.0  # a cell's brightness changed when its mean absolute change reaches this (0-255)
CUT_CELL_SHARE = 0.6  # and a cut changes at least this share of the cells (a caption band: a third)


@dataclass(frozen=True)
class Signature:
    hsv: np.ndarray  # 36 x 64 x 3 int16
    grey: np.ndarray  # 36 x 64 int16


def signature(frame: av.VideoFrame) -> Signature:
    rgb = frame.to_ndarray(width=SIGNATURE_SIZE[0], height=SIGNATURE_SIZE[1], format="rgb24")
    return Signature(cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV).astype(np.int16),
                     cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.int16))


def cell_change(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean absolute difference of two grey signatures in each cell of the grid (rows x columns)."""
    rows, columns = CELLS
    height, width = a.shape
    difference = np.abs(a.astype(np.float32) - b.astype(np.float32))
    return difference.reshape(rows, height // rows, columns, width // columns).mean(axis=(1, 3))


def picture_change(before: np.ndarray, after: np.ndarray) -> float:
    """How much the picture changed between two grey signatures, the camera's shift undone: the largest cell
    change (0-255). What the shift brings in at an edge is compared with the edge pixels before it."""
    first, second = before.astype(np.float32), after.astype(np.float32)
    (dx, dy), _ = cv2.phaseCorrelate(first, second)
    shift = np.float32([[1, 0, dx], [0, 1, dy]])
    moved = cv2.warpAffine(first, shift, SIGNATURE_SIZE, borderMode=cv2.BORDER_REPLICATE)
    return float(cell_change(moved, second).max())


def content_score(a: Signature, b: Signature) -> float:
    """ContentDetector's score: the mean over pixels of |dH|, |dS|, |dV|, averaged over the three."""
    return float(np.abs(a.hsv - b.hsv).mean())


@dataclass(frozen=True)
class Cut:
    timestamp_s: float
    score: float  # the content score (or, for a cut of brightness only, the mean brightness change)


@dataclass
class CutDetector:
    """Fed every decoded frame in order; says which start a new shot."""

    threshold: float
    min_shot_s: float
    cuts: list[Cut] = field(default_factory=list)
    _previous: Signature | None = None
    _shot_start_s: float | None = None

    def feed(self, timestamp_s: float, sig: Signature) -> Cut | None:
        previous, self._previous = self._previous, sig
        if self._shot_start_s is None:
            self._shot_start_s = timestamp_s
        if previous is None or timestamp_s - self._shot_start_s < self.min_shot_s:
            return None
        score = content_score(previous, sig)
        cells = cell_change(previous.grey, sig.grey)
        if score < self.threshold and (cells >= CUT_CELL_DELTA).mean() < CUT_CELL_SHARE:
            return None
        cut = Cut(timestamp_s, max(score, float(cells.mean())))
        self.cuts.append(cut)
        self._shot_start_s = timestamp_s
        return cut
