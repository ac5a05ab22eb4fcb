"""The text module: every OCR line and speech segment of a job judged by the text categories of its team's policy
(those with examples: ``vidsafe.policy.text_judging``).

Each distinct text is judged once (``vidsafe.text.judging``): by the team's term banks, by the offensive-language
classifier (Triton ``offensive_language``) and by closeness to the categories' examples (embedded by Triton
``text_embedder``). Each reading with evidence of a category gets one finding of that category: its strongest
evidence's score and span (in the reading's text), the reading's time, module, id and text (in ``attributes``, not
``text``: the finding reads nothing itself, and its segments group by category), and every signal that spoke.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from uuid import UUID

import numpy as np
import psycopg

from vidsafe.catalogue import Module, entry, triton_model
from vidsafe.db import parts, policies, term_banks
from vidsafe.domain.findings import Finding
from vidsafe.domain.policies import Policy
from vidsafe.policy import TextJudging, policy_banks, text_judging
from vidsafe.settings import Settings
from vidsafe.text.banks import TermMatcher
from vidsafe.text.judging import CategoryExamples, Evidence, by_category, example_texts, judge
from vidsafe.triton import TritonClient
from vidsafe.workers.stages import RulesInput, TextStage
from vidsafe.workers.text_embeddings import embed_texts, infer_texts


def offensive_probabilities(triton: TritonClient, texts: Sequence[str], in_flight: int = 2) -> np.ndarray:
    """[N] the offensive-language classifier's probability of each text."""
    return infer_texts(triton, triton_model(Module.text, "offensive"), "PROBABILITY", texts, in_flight).reshape(-1)


_examples_cache: dict[tuple[str, ...], np.ndarray] = {}


def category_examples(triton: TritonClient, judging: TextJudging) -> CategoryExamples | None:
    """The policy's examples and counter-examples embedded (once per process for the same texts); None where no
    category has examples."""
    examples, counters = example_texts(judging)
    if not examples:
        return None
    texts = tuple(text for _, text in examples + counters)
    if texts not in _examples_cache:
        _examples_cache.clear()
        _examples_cache[texts] = embed_texts(triton, texts)
    vectors = _examples_cache[texts]
    return CategoryExamples(example_categories=tuple(c for c, _ in examples),
                            example_texts=tuple(t for _, t in examples), examples=vectors[:len(examples)],
                            counter_categories=tuple(c for c, _ in counters), counters=vectors[len(examples):])


# team -> (its banks' versions and its policy's, matcher)
_matchers: dict[UUID, tuple[tuple, TermMatcher]] = {}


def team_matcher(conn: psycopg.Connection, team_id: UUID, policy: Policy) -> TermMatcher | None:
    """The team's banks and its policy's categories' terms compiled, recompiled only when one of them changed;
    None when there are no terms."""
    versions = (term_banks.team_banks(conn, team_id), policy.version)
    cached = _matchers.get(team_id)
    if cached is None or cached[0] != versions:
        banks = term_banks.team_terms(conn, team_id) + policy_banks(policy.document)
        _matchers[team_id] = versions, TermMatcher(banks)
    return _matchers[team_id][1]


def judged_findings(reading: Finding, evidence: list[Evidence]) -> list[Finding]:
    """One finding per category the reading's text is evidence of."""
    found = []
    text = reading.text or ""
    for category, items in by_category(evidence).items():
        best = items[0]
        found.append(Finding(
            module=Module.text, label=category, score=best.score, timestamp_s=reading.timestamp_s,
            end_s=reading.end_s, frame_index=reading.frame_index,
            attributes={"signal": best.signal, "span": [best.start, best.end], "matched": best.matched,
                        "reading": {"module": str(reading.module), "finding_id": reading.id, "text": text},
                        "evidence": [{"signal": e.signal, "score": e.score, "span": [e.start, e.end],
                                      "matched": e.matched, **({"bank_id": e.bank_id} if e.bank_id else {}),
                                      **({"translated": True} if e.translated else {})}
                                     for e in items],
                        **({"language": reading.attributes["language"]} if "language" in reading.attributes else {})},
        ))
    return found


def _translation(reading: Finding) -> str:
    """The reading's English rendering (speech in another language: workers/speech.py), or ""."""
    return str(reading.attributes.get("translation") or "")


def _evidence(reading: Finding, judged: dict[str, list[Evidence]]) -> list[Evidence]:
    """What was found in the reading's text, and in its English rendering (which spans all of the text)."""
    text = reading.text or ""
    translated = [dataclasses.replace(e, start=0, end=len(text), translated=True)
                  for e in judged.get(_translation(reading), [])]
    return judged[text] + translated


def judge_readings(conn: psycopg.Connection, team_id: UUID, readings: list[Finding], triton: TritonClient,
                   settings: Settings, min_score: float) -> list[Finding]:
    """The text findings of a job's readings (its OCR and speech findings) by the team's live policy."""
    readings = [f for f in readings if f.module in entry(Module.text).reads and f.text and f.text.strip()]
    if not readings:
        return []
    policy = policies.team_policy(conn, team_id, settings)
    judging = text_judging(policy.document)
    texts = list(dict.fromkeys(text for f in readings for text in (f.text or "", _translation(f)) if text))
    in_flight = settings.infer_in_flight
    vectors = embed_texts(triton, texts, in_flight)
    offensive = offensive_probabilities(triton, texts, in_flight)
    examples = category_examples(triton, judging)
    matcher = team_matcher(conn, team_id, policy)
    judged = {text: judge(text, vectors[i], float(offensive[i]), matcher, examples, judging)
              for i, text in enumerate(texts)}
    return [f for reading in readings for f in judged_findings(reading, _evidence(reading, judged))
            if f.score >= min_score]


class TextJudgementStage(TextStage):
    module = Module.text

    def run(self, job: RulesInput) -> None:
        found = judge_readings(job.conn, job.team_id, job.findings, self.triton, self.settings, self.min_score)
        parts.store(job.conn, job.lease, found, self.settings.part_lease_s)  # none found: the lease is still checked
