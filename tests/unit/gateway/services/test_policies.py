"""A dry run's new terms: matched on what past jobs said and showed written, one text segment per category over
the readings matched, in place of the text segments of that category it overlaps."""

from __future__ import annotations

from vidsafe.catalogue import Module
from vidsafe.domain.findings import Segment
from vidsafe.domain.policies import PolicyCategory, PolicyDocument, TextThresholds
from vidsafe.gateway.services.policies import NewTerms


def policy(*terms: str) -> PolicyDocument:
    return PolicyDocument(categories=[PolicyCategory(name="scams", severity=0.7, terms=list(terms))],
                          text=TextThresholds(offensive_language=None))


def segment(module: Module, label: str, start: float, end: float, score: float) -> Segment:
    return Segment(module=module, label=label, start_s=start, end_s=end, max_score=score, mean_score=score, count=1)


def test_only_the_terms_the_candidate_adds_are_matched() -> None:
    assert NewTerms(policy("gift card"), policy("gift card")).matcher is None
    new = NewTerms(policy("gift card", "double your money"), policy("gift card"))
    said = [("FREE GIFT CARDS", 0.0, 0.0), ("I will d.o.u.b.l.e your money", 4.0, 6.0), ("hello", 7.0, 8.0)]
    existing = [segment(Module.text, "scams", 4.5, 5.0, 0.6), segment(Module.text, "scams", 20.0, 21.0, 0.6),
                segment(Module.faces, "face 1", 0.0, 9.0, 0.9)]
    after = new.segments(existing, said)
    assert new.matched == 1
    assert [(s.module, s.label, s.start_s, s.end_s, s.max_score) for s in after] == [
        (Module.text, "scams", 20.0, 21.0, 0.6), (Module.faces, "face 1", 0.0, 9.0, 0.9),
        (Module.text, "scams", 4.0, 6.0, 1.0)], "the overlapped segment gives way to the term's"
