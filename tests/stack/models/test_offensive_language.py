"""The served ``offensive_language`` against alt-profanity-check's own ``predict_prob`` (scikit-learn unpickling the
wheel's classifier), plus its batching and its answer to text that is not UTF-8."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers.triton import assert_batched, client_fixture, infer, infer_concurrently, statistics, text_tensor

MODEL = "offensive_language"
TOLERANCE = 1e-6  # float32 output of a float64 computation
TEXTS = [
    "you are a stupid idiot", "have a lovely day", "FREE GIFT CARDS INSIDE", "what the f*** is this shit",
    "", "x", "Ünïcödé tèxt, emoji 🙂 and 漢字", "the the the the", "go to hell you bastard " * 30,
    "Please check this video before it is published.",
]

client = client_fixture(MODEL)


def served(client, texts: list[str | bytes]) -> np.ndarray:
    return infer(client, MODEL, {"TEXT": text_tensor(texts)}, ("PROBABILITY",))["PROBABILITY"][:, 0]


def test_probabilities_match_alt_profanity_check(client) -> None:
    from profanity_check import predict_prob

    actual = served(client, TEXTS)
    assert actual.dtype == np.float32 and actual.shape == (len(TEXTS),)
    np.testing.assert_allclose(actual, predict_prob(TEXTS), atol=TOLERANCE)
    assert actual[0] > 0.9 > 0.1 > actual[1], "an insult scores high, a greeting low"


def test_invalid_utf8_is_read_as_replacement_characters(client) -> None:
    from profanity_check import predict_prob

    np.testing.assert_allclose(served(client, [b"you stupid \xff idiot"]),
                               predict_prob(["you stupid \ufffd idiot"]), atol=TOLERANCE)


@pytest.mark.parametrize("size", [1, 7])
def test_concurrent_requests_are_batched_and_answered_in_kind(client, size: int) -> None:
    texts = TEXTS[:size]
    want = served(client, texts)
    before = statistics(client, MODEL)
    answers = infer_concurrently(client, MODEL, [{"TEXT": text_tensor(texts)}] * 24, ("PROBABILITY",))
    for answer in answers:
        np.testing.assert_array_equal(answer["PROBABILITY"][:, 0], want)
    assert_batched(client, MODEL, before, 24 * size)
