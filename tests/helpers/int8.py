"""The network whose int8 copy the tests check."""

from __future__ import annotations

NETWORK = "nudity_detector"  # the quickest to quantize (seconds)
