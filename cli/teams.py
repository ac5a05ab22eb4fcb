"""``vidsafe teams ...``: moderation teams and their limits, through the gateway's admin API (``/v1/teams``).
Creating a team and setting its limits needs an admin key of the operator team (the CLI's own key on the
machine running the stack is one)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from vidsafe.cli.output import console, gateway, out
from vidsafe.domain.teams import Team, TeamLimits
from vidsafe.settings import get_settings

teams_app = typer.Typer(help="Teams: create, list, set limits (needs an operator admin key).", no_args_is_help=True)
Name = Annotated[str, typer.Argument(help="Lower-case letters, digits, _ and -.")]
MaxRunning = Annotated[int | None, typer.Option("--max-running", min=0, help="Jobs analysed at once.")]
MaxQueued = Annotated[int | None, typer.Option("--max-queued", min=0, help="Jobs pending or queued.")]
MaxHours = Annotated[float | None, typer.Option("--max-hours-per-day", min=0, help="Hours of video in any 24 h.")]


def _limit(value: float | None) -> str:
    return "setting" if value is None else f"{value:g}"


def _print(teams: list[Team]) -> None:
    table = Table("name", "operator", "max running", "max queued", "max h/day", "created")
    for team in teams:
        table.add_row(team.name, "yes" if team.operator else "", _limit(team.max_running_jobs),
                      _limit(team.max_queued_jobs), _limit(team.max_video_hours_per_day),
                      f"{team.created_at:%Y-%m-%d}")
    out.print(table)


@teams_app.command("create")
def teams_create(name: Name, max_running: MaxRunning = None, max_queued: MaxQueued = None,
                 max_hours_per_day: MaxHours = None) -> None:
    """Create a team; a limit left out takes the deployment's setting. Then issue its keys with
    `vidsafe keys create NAME --team TEAM`."""
    limits = TeamLimits(max_running_jobs=max_running, max_queued_jobs=max_queued,
                        max_video_hours_per_day=max_hours_per_day)
    with gateway(get_settings()) as client:
        team = client.create_team(name, limits)
    console.print(f"created team {team.name}")


@teams_app.command("list")
def teams_list() -> None:
    """List the teams with their limits ("setting": the deployment's VIDSAFE_TEAM_MAX_* value)."""
    with gateway(get_settings()) as client:
        _print(client.teams())


@teams_app.command("limits")
def teams_limits(name: Name, max_running: MaxRunning = None, max_queued: MaxQueued = None,
                 max_hours_per_day: MaxHours = None) -> None:
    """Replace a team's limits; a limit left out takes the deployment's setting."""
    limits = TeamLimits(max_running_jobs=max_running, max_queued_jobs=max_queued,
                        max_video_hours_per_day=max_hours_per_day)
    with gateway(get_settings()) as client:
        _print([client.set_team_limits(name, limits)])


def register(app: typer.Typer) -> None:
    app.add_typer(teams_app, name="teams")
