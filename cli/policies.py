"""``vidsafe policy ...``: the team's policy, through the gateway (``/v1/policies``): show it (as JSON to edit),
dry-run an edited one over past jobs, save it as the new live version, list the versions."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import pydantic
import typer
from rich.markup import escape
from rich.table import Table

from vidsafe.cli.output import console, fail, gateway, out
from vidsafe.domain.fields import BackgroundState
from vidsafe.domain.policies import DryRun, PolicyDocument
from vidsafe.settings import get_settings

policy_app = typer.Typer(help="The team's policy: categories, their signals and severities, text examples, rules. "
                         "Show, dry-run, save, list versions, re-judge past jobs, the rules fired on a job.",
                         no_args_is_help=True)
PolicyFile = Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A policy document (JSON), as `vidsafe "
                                            "policy show` prints it.")]


def _document(file: Path) -> PolicyDocument:
    try:
        return PolicyDocument.model_validate_json(file.read_bytes())
    except pydantic.ValidationError as error:
        raise fail(f"{file} is not a policy document:\n{error}") from None


@policy_app.command("show")
def policy_show(version: Annotated[int | None, typer.Option(help="A saved version (0: the deployment's default); "
                                                            "default the live one.")] = None) -> None:
    """Print a version's document as JSON (`> policy.json`, edit, then `dry-run` and `save` it)."""
    with gateway(get_settings()) as client:
        found = client.policy_version(version)
    console.print(f"version {found.version}{' (live)' if found.live else ''}")
    out.print(json.dumps(found.document.model_dump(mode="json"), indent=2, ensure_ascii=False), soft_wrap=True,
              highlight=False, markup=False)


def _print_dry_run(result: DryRun) -> None:
    console.print(f"compared with version {result.compared_version} on {result.jobs_compared} past jobs in "
                  f"{result.seconds:.2f} s: {result.newly_flagged} newly flagged (risk >= {result.flag_at}), "
                  f"{result.no_longer_flagged} no longer flagged, {result.risk_changed} with another risk; "
                  f"{result.readings_matching_new_terms} lines said or written match the terms it adds")
    if result.text_rejudging_needed:
        console.print("its text judging differs (examples or thresholds): text findings change when past jobs are "
                      "judged again; this dry run recomputed risk from the findings as they are")
    table = Table("change", "job", "risk before", "risk after", "place before", "place after", "categories")
    for change, items in (("newly flagged", result.examples_newly_flagged),
                          ("no longer flagged", result.examples_no_longer_flagged), ("moved", result.largest_moves),
                          ("risk changed", result.largest_risk_changes)):
        for item in items:
            table.add_row(change, item.source_name, f"{item.risk_before:.2f}", f"{item.risk_after:.2f}",
                          str(item.rank_before), str(item.rank_after), ", ".join(item.categories_after))
    if table.row_count:
        out.print(table)
    if result.rules:
        rules = Table("rule", "state", "fires on", "of which fired before (live version)")
        for rule in result.rules:
            rules.add_row(rule.rule, rule.state, str(rule.fires_on), str(rule.fired_before))
        out.print(rules)


@policy_app.command("dry-run")
def policy_dry_run(file: PolicyFile) -> None:
    """What this policy would change on the team's newest 5,000 past jobs; nothing is changed."""
    with gateway(get_settings()) as client:
        _print_dry_run(client.dry_run_policy(_document(file)))


@policy_app.command("save")
def policy_save(file: PolicyFile) -> None:
    """Save the document as the team's new live version: jobs judged from now on are judged by it."""
    with gateway(get_settings()) as client:
        saved = client.save_policy(_document(file))
    console.print(f"saved version {saved.version}: live")


@policy_app.command("versions")
def policy_versions() -> None:
    """The versions the team saved, newest (live) first."""
    with gateway(get_settings()) as client:
        versions = client.policy_versions()
    if not versions:
        console.print("none saved: the team judges by the deployment's default (version 0)")
        return
    table = Table("version", "live", "saved", "by", "categories")
    for found in versions:
        table.add_row(str(found.version), "yes" if found.live else "", f"{found.created_at:%Y-%m-%d %H:%M}",
                      found.created_by, str(found.categories))
    out.print(table)


@policy_app.command("rejudge")
def policy_rejudge(wait: Annotated[bool, typer.Option(help="Follow its progress until it ends.")] = True) -> None:
    """Judge the team's past jobs again by the live policy (texts, risk, rules, summaries), in the background."""
    with gateway(get_settings()) as client:
        status = client.rejudge()
        console.print(f"re-judging past jobs by version {status.version}: {status.state}")
        while wait and status.state in (BackgroundState.queued, BackgroundState.running):
            time.sleep(1)
            status = client.rejudging()
            console.print(f"  {status.state}: {status.jobs_done} of {status.jobs_total or '?'} jobs, "
                          f"{status.risk_changed} with another risk", highlight=False)
    if status.state == BackgroundState.failed:
        raise fail(f"re-judging failed: {status.error}")


@policy_app.command("fired")
def policy_fired(job_id: Annotated[str, typer.Argument(help="A job's id.")]) -> None:
    """The rules that fired on a job: which, by which version, what they did and why."""
    with gateway(get_settings()) as client:
        firings = client.rule_firings(job_id)
    if not firings:
        console.print("no rule fired on this job")
        return
    table = Table("rule", "version", "state", "did", "why")
    for firing in firings:
        table.add_row(firing.rule, str(firing.policy_version), firing.state, escape(firing.taken), escape(firing.why))
    out.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(policy_app, name="policy")
