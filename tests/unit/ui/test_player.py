"""The review player's data (ui/player.py): the lanes of the flagged segments, the stretches it blurs; and the
batches page's actions by state and the queue's waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from tests.helpers.support import finding
from vidsafe.catalogue import Module
from vidsafe.domain.batches import Batch
from vidsafe.domain.review import FlaggedSegment
from vidsafe.ui.batches import offered
from vidsafe.ui.player import lanes, stretches
from vidsafe.ui.queue import waited


def flagged(module: str, label: str, start: float, end: float, category: str, severity: float,
            score: float = 0.9) -> FlaggedSegment:
    return FlaggedSegment(module=module, label=label, start_s=start, end_s=end, max_score=score, category=category,
                          severity=severity, contribution=severity * score, decisions=[])


def test_sensitive_seen_stretches_are_merged_and_say_what_they_hold_while_what_is_said_is_not_blurred() -> None:
    segments = [flagged("nudity", "FEMALE_BREAST_EXPOSED", 10.0, 12.0, "adult_nudity", 0.9),
                flagged("clip", "violence", 12.5, 14.0, "violence", 0.8),
                flagged("clip", "drugs", 30.0, 31.0, "drugs", 0.3),  # below the blurring severity
                flagged("text", "harassment", 40.0, 42.0, "harassment", 0.9)]  # what is said: nothing to see
    words = [finding(Module.ocr, "text", 11.0, 0.9, text="SEND MONEY"), finding(Module.speech, "text", 13.0, 0.9,
                                                                                 text="do it now"),
             finding(Module.ocr, "text", 11.5, 0.9, text="SEND MONEY"), finding(Module.ocr, "text", 20.0, 0.9,
                                                                                  text="elsewhere")]
    blurred = stretches(segments, min_severity=0.5, findings=words)
    assert [(s["start"], s["end"]) for s in blurred] == [(10.0, 15.0)], "merged, and to the last frame's end"
    assert blurred[0]["why"] == "adult_nudity (nudity:FEMALE_BREAST_EXPOSED 0.90), violence (clip:violence 0.90)"
    assert blurred[0]["texts"] == "SEND MONEY / do it now", "what can be read and heard there, before revealing"


def test_a_lane_per_category_the_one_that_drives_the_risk_most_on_top() -> None:
    segments = [flagged("clip", "drugs", 0, 1, "drugs", 0.6), flagged("nudity", "X", 5, 6, "adult_nudity", 1.0),
                flagged("clip", "drugs", 8, 9, "drugs", 0.6)]
    assert [lane["name"] for lane in lanes(segments)] == ["adult_nudity", "drugs"]
    assert len({lane["colour"] for lane in lanes(segments)}) == 2


def test_a_batch_offers_only_the_actions_its_jobs_states_allow() -> None:
    def batch(**counts: int) -> Batch:
        return Batch(id=uuid4(), name="b", auto_start=True, priority=5, callback_url=None,
                     created_at=datetime.now(UTC), jobs=sum(counts.values()), counts=counts)

    assert offered(batch(succeeded=3)) == []
    assert offered(batch(running=1, succeeded=2)) == ["pause", "cancel"]
    assert offered(batch(paused=1, failed=1)) == ["resume", "cancel", "retry"]
    assert offered(batch(pending=2)) == ["start", "cancel"]


def test_waits_read_in_minutes_hours_then_days() -> None:
    now = datetime.now(UTC)
    assert [waited(now - timedelta(minutes=m), now) for m in (0, 59, 150, 3 * 1440)] == ["0 min", "59 min", "2 h",
                                                                                          "3 d"]
