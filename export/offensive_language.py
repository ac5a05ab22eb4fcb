"""alt-profanity-check's classifier (scikit-learn, from the pinned wheel) -> the arrays Triton's model computes with.

The wheel's classifier is a TF-IDF vectorizer (words of two or more letters, lower case) and five linear SVMs, each
with its sigmoid calibration, whose probabilities are averaged (``CalibratedClassifierCV``). All of it is a few
arrays: the vocabulary, the IDF weights, each SVM's weights and bias and each calibration's two numbers. They are
written to one ``.npz`` so the served model needs numpy only, and no pickle is ever loaded by a service: only
exporting unpickles the wheel's hash-checked files (with scikit-learn and joblib, the ``export`` extra's).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vidsafe.catalogue import CatalogueEntry
from vidsafe.settings import Settings

VECTORIZER = "offensive_language/1/source/vectorizer.joblib"
CLASSIFIER = "offensive_language/1/source/model.joblib"
ARRAYS = "offensive_language/1/linear.npz"
TOKEN_PATTERN = r"(?u)\b\w\w+\b"  # scikit-learn's default; the model's file says which it was fitted with


def linear_arrays(vectorizer_path: Path, classifier_path: Path) -> dict[str, np.ndarray]:
    """The vectorizer's and calibrated SVMs' parameters, checked to be the kind the served model computes."""
    import joblib

    vectorizer = joblib.load(vectorizer_path)
    classifier = joblib.load(classifier_path)
    params = vectorizer.get_params()
    expected = {"analyzer": "word", "lowercase": True, "ngram_range": (1, 1), "norm": "l2", "use_idf": True,
                "sublinear_tf": False, "binary": False, "strip_accents": None, "token_pattern": TOKEN_PATTERN}
    differing = {k: params[k] for k, v in expected.items() if params[k] != v}
    if differing:
        raise ValueError(f"the vectorizer differs from what the served model computes: {differing}")
    calibrated = classifier.calibrated_classifiers_
    if any(c.method != "sigmoid" or len(c.calibrators) != 1 for c in calibrated):
        raise ValueError("expected binary classifiers with sigmoid calibration")
    vocabulary = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
    return {
        "vocabulary": np.array(vocabulary, dtype=np.str_),
        "idf": vectorizer.idf_.astype(np.float64),
        "weights": np.stack([c.estimator.coef_[0] for c in calibrated]).astype(np.float64),
        "biases": np.array([c.estimator.intercept_[0] for c in calibrated], dtype=np.float64),
        "calibration": np.array([[c.calibrators[0].a_, c.calibrators[0].b_] for c in calibrated], dtype=np.float64),
    }


def convert(entry: CatalogueEntry, settings: Settings) -> None:
    """The catalogue's ``convert`` of ``text``: the wheel's two joblib files -> offensive_language/1/linear.npz."""
    repository = settings.model_repository
    arrays = linear_arrays(repository / VECTORIZER, repository / CLASSIFIER)
    target = repository / ARRAYS
    partial = target.with_name(target.name + ".partial.npz")
    np.savez(partial, **arrays)
    partial.replace(target)
