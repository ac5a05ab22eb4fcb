"""The queries of the operations dashboard (vidsafe/dashboard.py), as PromQL."""

from __future__ import annotations

from vidsafe.dashboard import PANELS


def dashboard_expressions() -> list[str]:
    return [query.expr for panel in PANELS for query in panel.queries]
