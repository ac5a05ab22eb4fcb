"""The text stage's findings: one per category a reading is evidence of, with the reading it came from; what the
English rendering of a reading in another language says counts for the reading, spanning all of it."""

from __future__ import annotations

from vidsafe.catalogue import Module
from vidsafe.domain.findings import Finding
from vidsafe.text.judging import SEMANTIC, TERM, Evidence
from vidsafe.workers.text_judgement import _evidence, judged_findings

SPANISH = "Te voy a matar si vuelves."
READING = Finding(id=7, module=Module.speech, label="speech", score=0.8, timestamp_s=3.0, end_s=5.0, text=SPANISH,
                  attributes={"language": "es", "translation": "I will kill you if you come back."})


def test_the_rendering_in_english_counts_for_the_reading() -> None:
    english = READING.attributes["translation"]
    judged = {SPANISH: [Evidence(TERM, "threats", 1.0, 9, 14, "matar", "bank")],
              english: [Evidence(SEMANTIC, "threats", 0.8, 0, len(english), "I am going to kill you")]}
    evidence = _evidence(READING, judged)
    assert [(e.signal, e.translated, e.start, e.end) for e in evidence] == [(TERM, False, 9, 14),
                                                                           (SEMANTIC, True, 0, len(SPANISH))]
    [finding] = judged_findings(READING, evidence)
    assert (finding.module, finding.label, finding.score, finding.timestamp_s, finding.end_s) == (
        Module.text, "threats", 1.0, 3.0, 5.0)
    assert finding.text is None and finding.attributes["reading"] == {"module": "speech", "finding_id": 7,
                                                                       "text": SPANISH}
    assert finding.attributes["language"] == "es" and finding.attributes["span"] == [9, 14]
    assert [e.get("translated", False) for e in finding.attributes["evidence"]] == [False, True]
