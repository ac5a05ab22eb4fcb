"""The text embedder's Triton model name, for the tests of its folder and of the served model."""

from __future__ import annotations

MODEL = "text_embedder"
