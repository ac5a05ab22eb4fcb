"""``vidsafe dashboard``: the Grafana dashboard of vidsafe's metrics (the panels of ``vidsafe/dashboard.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidsafe.cli.output import console
from vidsafe.dashboard import grafana_json

GRAFANA_FILE = Path(__file__).resolve().parent.parent / "deploy" / "grafana" / "vidsafe.json"


def dashboard(output: Annotated[Path | None, typer.Option(
        "--output", "-o", help=f"Write it there (the repository keeps it in deploy/grafana/{GRAFANA_FILE.name}). "
        "Unset: print it.")] = None) -> None:
    """The Grafana dashboard (JSON to import, its Prometheus data source chosen then): queue depth, jobs by
    state, frames/s, stage latencies, Triton queue and compute time, errors, per-team usage."""
    if output is None:
        print(grafana_json(), end="")
        return
    output.write_text(grafana_json())
    console.print(f"wrote {output}")


def register(app: typer.Typer) -> None:
    app.command("dashboard")(dashboard)
