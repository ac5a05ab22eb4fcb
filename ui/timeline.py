"""The review page's scores: every category's score over time, with each module's threshold drawn (the player's
own timeline shows the flagged segments); a click on the plot picks the time the player seeks to."""

from __future__ import annotations

from collections.abc import Iterable

import altair as alt
import pandas as pd

from vidsafe.catalogue import entry
from vidsafe.domain.findings import Finding

SELECTION = "seek"


def category(finding: Finding) -> str:
    """The line a finding is plotted on: its module's and label's where the module plots a line per label (what was
    seen: nudity, CLIP's categories), else its module's (a face, a pose, text)."""
    return f"{finding.module}:{finding.label}" if entry(finding.module).timeline == "label" else str(finding.module)


def score_series(findings: Iterable[Finding]) -> pd.DataFrame:
    """Per category and time, the highest score of the findings there (columns t, score, category, module)."""
    rows = [{"t": f.timestamp_s, "score": f.score, "category": category(f), "module": str(f.module)}
            for f in findings if entry(f.module).timeline != "none" and not f.is_index_entry]
    frame = pd.DataFrame(rows, columns=["t", "score", "category", "module"])
    if frame.empty:
        return frame
    return frame.groupby(["category", "module", "t"], as_index=False)["score"].max().sort_values(["category", "t"])


def thresholds(series: pd.DataFrame, min_scores: dict[str, float]) -> pd.DataFrame:
    """The threshold of each module plotted: below it, nothing is stored."""
    modules = sorted(set(series["module"])) if not series.empty else []
    return pd.DataFrame([{"module": m, "threshold": min_scores.get(m, 0.0)} for m in modules],
                        columns=["module", "threshold"])


def timeline_chart(series: pd.DataFrame, limits: pd.DataFrame, duration_s: float) -> alt.LayerChart:
    pick = alt.selection_point(name=SELECTION, fields=["t"], on="click", nearest=True, empty=False)
    x = alt.X("t:Q", title="time (s)", scale=alt.Scale(domain=[0, max(duration_s, 1.0)]))
    lines = alt.Chart(series).mark_line(point=True, interpolate="step-after").encode(
        x=x, y=alt.Y("score:Q", title="score", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("category:N", title="category", legend=alt.Legend(orient="bottom", columns=4)),
        tooltip=[alt.Tooltip("category:N"), alt.Tooltip("t:Q", title="time (s)", format=".1f"),
                 alt.Tooltip("score:Q", format=".2f")],
    ).add_params(pick)
    rules = alt.Chart(limits).mark_rule(strokeDash=[4, 4], opacity=0.6).encode(
        y="threshold:Q", color=alt.value("#888"), tooltip=["module:N", alt.Tooltip("threshold:Q", format=".2f")])
    return alt.layer(lines, rules).properties(height=220)


def picked_time(event: object) -> float | None:
    """The time a click on the chart picked, from Streamlit's selection event."""
    selection = getattr(event, "selection", None) or (event.get("selection") if isinstance(event, dict) else None)
    points = (selection or {}).get(SELECTION) or []
    return float(points[0]["t"]) if points and "t" in points[0] else None
