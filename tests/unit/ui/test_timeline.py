"""The review page's timeline (ui/timeline.py): each category's highest score per time, each module's threshold."""

from __future__ import annotations

from tests.helpers.support import finding
from vidsafe.catalogue import Module
from vidsafe.domain.findings import Finding
from vidsafe.ui import timeline


def test_the_timeline_plots_each_categorys_highest_score_per_time_and_each_modules_threshold() -> None:
    label = "BUTTOCKS_EXPOSED"
    findings = [finding(Module.nudity, label, 1.0, 0.4), finding(Module.nudity, label, 1.0, 0.7),
                finding(Module.faces, "face", 1.0, 0.9), finding(Module.faces, "face", 1.5, 0.8),
                finding(Module.clip, "frame", 1.0, 1.0), Finding(module=Module.speech, label="speech", timestamp_s=0,
                                                                   score=0.0, text="hello")]
    series = timeline.score_series(findings)
    assert set(series["category"]) == {"nudity:BUTTOCKS_EXPOSED", "faces"}, "speech and CLIP's index are not plotted"
    assert series[series["category"] == "nudity:BUTTOCKS_EXPOSED"]["score"].tolist() == [0.7]
    limits = timeline.thresholds(series, {"nudity": 0.25, "faces": 0.6})
    assert dict(zip(limits["module"], limits["threshold"], strict=True)) == {"faces": 0.6, "nudity": 0.25}
    chart = timeline.timeline_chart(series, limits, 12.0).to_dict()
    assert [param["name"] for param in chart["params"]] == [timeline.SELECTION]
    assert timeline.picked_time({"selection": {timeline.SELECTION: [{"t": 1.5}]}}) == 1.5
    assert timeline.picked_time({"selection": {}}) is None
