"""Texts -> the probability that each is offensive language, as alt-profanity-check's ``predict_prob`` gives it.

The arrays (export/offensive_language.py) are the wheel's TF-IDF vectorizer and its calibrated linear SVMs: a
text's words (two or more letters, lower case) are counted, weighted by IDF and scaled to unit length; each SVM
scores them and its sigmoid turns the score into a probability; the five probabilities are averaged.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
from vidsafe_model_host.batching import split_responses, texts_of

WORDS = re.compile(r"(?u)\b\w\w+\b")


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        path = Path(args["model_repository"]) / args["model_version"] / "linear.npz"
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: run `vidsafe export text`")
        with np.load(path) as arrays:
            self.index = {word: i for i, word in enumerate(arrays["vocabulary"].tolist())}
            self.idf = arrays["idf"]
            self.weights = arrays["weights"]  # [classifiers, vocabulary]
            self.biases = arrays["biases"]
            self.calibration = arrays["calibration"]  # [classifiers, 2]: a, b of 1 / (1 + exp(a * score + b))

    def probability(self, text: str) -> float:
        counts = Counter(i for word in WORDS.findall(text.lower()) if (i := self.index.get(word)) is not None)
        scores = self.biases.copy()
        if counts:
            columns = np.fromiter(counts, dtype=np.int64)
            values = np.fromiter(counts.values(), dtype=np.float64) * self.idf[columns]
            scores += self.weights[:, columns] @ (values / np.linalg.norm(values))
        a, b = self.calibration[:, 0], self.calibration[:, 1]
        return float(np.mean(1.0 / (1.0 + np.exp(a * scores + b))))

    def execute(self, requests: list) -> list:
        texts, counts = texts_of(requests)
        probabilities = np.array([[self.probability(t)] for t in texts], dtype=np.float32).reshape(-1, 1)
        return split_responses({"PROBABILITY": probabilities}, counts)

    def finalize(self) -> None:
        self.index = {}
