"""Text judging measured: precision and recall of each signal (term banks, the offensive-language classifier,
closeness to the categories' examples) and of their combination on the held-out half of the labelled set
(``benchmarks/data/text_judging.jsonl``, made by ``python -m benchmarks.text_set``), and what the term banks cost
with 100,000 terms.

    .venv/bin/python -m benchmarks.text_judging [--tune]

Starts a Triton of its own serving the text embedder and the offensive-language classifier (the exported model
repository). ``--tune`` chooses ``semantic_min_similarity``, ``semantic_margin`` and
``offensive_language_min_score`` on the tuning half only and prints them, to be copied into vidsafe/policy.toml by
hand; the held-out half is never looked at for that. Writes ``benchmarks/results/text_judging.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import random
import statistics
import string
import tempfile
import time
from collections.abc import Iterable
from itertools import product
from pathlib import Path

import numpy as np

from benchmarks.text_set import SET_PATH
from tests.helpers.support import isolated_settings
from vidsafe.catalogue import Module
from vidsafe.deploy import stack
from vidsafe.policy import TextJudging, default_policy
from vidsafe.text.banks import BankTerms, TermMatcher, parse_terms
from vidsafe.text.judging import OFFENSIVE_LANGUAGE, SEMANTIC, TERM, CategoryExamples, Evidence, judge
from vidsafe.triton import TritonClient
from vidsafe.workers.text_embeddings import embed_texts
from vidsafe.workers.text_judgement import category_examples, offensive_probabilities

RESULTS = Path(__file__).with_name("results") / "text_judging.md"
# What a team might put in its banks: a few terms per category, written without looking at the labelled set.
BANKS = {
    "scams": "gift card\ngift cards\nbank details\ncard details\ndouble your money\nguaranteed profit\n"
             "re:\\bsend (me|us) (your )?(money|codes?)\\b\n",
    "harassment": "idiot\nmoron\nloser\nbitch\n",
    "drugs_weapons_sale": "re:\\b(weed|coke|meth|oxy|ammo|glock)\\b.{0,30}\\b(sale|selling|available|stock|deliver)\n",
    "spam": "follow for follow\nlike 4 like\nlink in bio\nfree followers\n",
    "self_harm": "kill myself\nend it all\n",
}
SIGNALS = (TERM, OFFENSIVE_LANGUAGE, SEMANTIC, "combined")


@dataclasses.dataclass(frozen=True)
class Scored:
    text: str
    truth: str  # a category, or "none"
    split: str
    vector: np.ndarray
    offensive: float


def load_set() -> list[dict[str, str]]:
    return [json.loads(line) for line in SET_PATH.read_text(encoding="utf-8").splitlines()]


def bench_matcher() -> TermMatcher:
    return TermMatcher([BankTerms(category, category, parse_terms(terms)) for category, terms in BANKS.items()])


def predictions(rows: Iterable[Scored], matcher: TermMatcher, examples: CategoryExamples,
                judging: TextJudging) -> list[tuple[Scored, list[Evidence]]]:
    return [(row, judge(row.text, row.vector, row.offensive, matcher, examples, judging)) for row in rows]


def precision_recall(judged: list[tuple[Scored, list[Evidence]]], signal: str,
                     categories: Iterable[str]) -> dict[str, tuple[int, int, int]]:
    """category -> (true positives, false positives, false negatives) of one signal (or all combined)."""
    counts = {}
    for category in categories:
        tp = fp = fn = 0
        for row, evidence in judged:
            said = any(e.category == category and (signal == "combined" or e.signal == signal) for e in evidence)
            tp += said and row.truth == category
            fp += said and row.truth != category
            fn += not said and row.truth == category
        counts[category] = (tp, fp, fn)
    return counts


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def micro_f1(counts: dict[str, tuple[int, int, int]]) -> float:
    tp, fp, fn = (sum(c[i] for c in counts.values()) for i in range(3))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def tune(scored: list[Scored], matcher: TermMatcher, examples: CategoryExamples, judging: TextJudging) -> TextJudging:
    tuning = [row for row in scored if row.split == "tuning"]
    best = (-1.0, judging)
    for similarity, margin, offensive in product(np.arange(0.30, 0.71, 0.025), (0.0, 0.02, 0.05, 0.1),
                                                 (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)):
        candidate = dataclasses.replace(judging, semantic_min_similarity=round(float(similarity), 3),
                                        semantic_margin=margin, offensive_language_min_score=offensive)
        f1 = micro_f1(precision_recall(predictions(tuning, matcher, examples, candidate), "combined",
                                       judging.categories))
        if f1 > best[0]:
            best = (f1, candidate)
    print(f"tuning half: micro F1 {best[0]:.3f} at semantic_min_similarity={best[1].semantic_min_similarity} "
          f"semantic_margin={best[1].semantic_margin} "
          f"offensive_language_min_score={best[1].offensive_language_min_score}")
    return best[1]


def bank_speed(texts: list[str]) -> dict[str, float]:
    """Building a matcher of 100,000 phrases, and matching texts with it."""
    rng = random.Random(1)
    words = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 9))) for _ in range(20_000)]
    phrases: set[str] = set()
    while len(phrases) < 100_000:
        phrases.add(" ".join(rng.sample(words, rng.randint(1, 3))))
    bank = BankTerms("speed", "spam", parse_terms("\n".join(sorted(phrases))))
    clock = time.perf_counter()
    matcher = TermMatcher([bank])
    build_s = time.perf_counter() - clock
    rounds = []
    for _ in range(5):
        clock = time.perf_counter()
        for text in texts:
            matcher.matches(text)
        rounds.append((time.perf_counter() - clock) / len(texts))
    return {"terms": len(bank.terms), "build_s": build_s, "per_text_ms": statistics.median(rounds) * 1000}


def report(judged: list[tuple[Scored, list[Evidence]]], judging: TextJudging, speed: dict[str, float],
           per_text_ms: float) -> str:
    held = [item for item in judged if item[0].split == "held_out"]
    categories = list(judging.categories)
    lines = [
        "# Text judging: precision and recall on the held-out half",
        "",
        f"`python -m benchmarks.text_judging` on {platform.processor() or platform.machine()}, "
        f"{time.strftime('%Y-%m-%d')}. The labelled set: `benchmarks/data/text_judging.jsonl` "
        f"({len(judged)} texts, {len(held)} held out: {sum(r.truth != 'none' for r, _ in held)} in a category, "
        f"{sum(r.truth == 'none' for r, _ in held)} benign or hard negatives such as \"that show killed it\"). "
        f"Thresholds (vidsafe/policy.toml, chosen with `--tune` on the tuning half only): semantic_min_similarity "
        f"{judging.semantic_min_similarity}, semantic_margin {judging.semantic_margin}, "
        f"offensive_language_min_score {judging.offensive_language_min_score}. Term banks: the few terms per "
        "category in `BANKS` of the benchmark, as a team might write them.",
        "",
        "A text counts for a category when the signal gives evidence of it; precision = right / said, recall = "
        "found / in the category. \"-\": the signal said nothing of that category.",
        "",
        "| category | " + " | ".join(f"{s} P | {s} R" for s in SIGNALS) + " |",
        "| --- | " + " | ".join("---: | ---:" for _ in SIGNALS) + " |",
    ]
    tables = {signal: precision_recall(held, signal, categories) for signal in SIGNALS}

    def cell(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    for category in [*categories, "all (micro)"]:
        cells = []
        for signal in SIGNALS:
            tp, fp, fn = (tables[signal][category] if category in tables[signal]
                          else tuple(sum(c[i] for c in tables[signal].values()) for i in range(3)))
            cells += [cell(_ratio(tp, tp + fp)), cell(_ratio(tp, tp + fn))]
        lines.append(f"| {category} | " + " | ".join(cells) + " |")
    false_alarms = [(row.text, sorted({e.category for e in ev})) for row, ev in held if row.truth == "none" and ev]
    lines += ["", f"Held-out benign texts and hard negatives flagged: {len(false_alarms)} of "
              f"{sum(r.truth == 'none' for r, _ in held)}"]
    lines += [f"- \"{text}\": {', '.join(found)}" for text, found in false_alarms]
    lines += ["", "## Cost", "",
              f"- Term banks, {speed['terms']:,} phrases in one Aho-Corasick automaton: built in "
              f"{speed['build_s']:.2f} s; matching a text {speed['per_text_ms']:.3f} ms (median of 5 passes over "
              "the set).",
              f"- All three signals, Triton calls included: {per_text_ms:.1f} ms per distinct text (the set's texts "
              "in batches of 64, as the stage sends them)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tune", action="store_true", help="Choose the thresholds on the tuning half and print them.")
    args = parser.parse_args()
    rows = load_set()
    judging = default_policy().text
    with tempfile.TemporaryDirectory(prefix="vidsafe-text-bench-") as root:
        settings = isolated_settings(Path(root), served_modules=[str(Module.text_embeddings), str(Module.text)])
        stack.up(settings, ["triton"])
        try:
            with TritonClient(settings.effective_triton_url) as client:
                texts = [row["text"] for row in rows]
                embed_texts(client, texts[:8])  # warm-up
                clock = time.perf_counter()
                vectors = embed_texts(client, texts)
                offensive = offensive_probabilities(client, texts)
                examples = category_examples(client, judging)
                matcher = bench_matcher()
                scored = [Scored(row["text"], row["category"], row["split"], vectors[i], float(offensive[i]))
                          for i, row in enumerate(rows)]
                judged = predictions(scored, matcher, examples, judging)
                per_text_ms = (time.perf_counter() - clock) / len(rows) * 1000
        finally:
            stack.down(settings)
    if args.tune:
        tune(scored, matcher, examples, judging)
        return
    RESULTS.write_text(report(judged, judging, bank_speed([row["text"] for row in rows]), per_text_ms))
    print(RESULTS.read_text())


if __name__ == "__main__":
    main()
