"""``vidsafe``: set up, run and use the local stack from a terminal. One module per command group; every
command but set-up, the stack and ``keys bootstrap`` goes through the gateway (``vidsafe.client``)."""

from __future__ import annotations

import typer

from vidsafe.cli import (
    analyze,
    backups,
    dashboard,
    hash_lists,
    jobs,
    keys,
    models,
    policies,
    settings,
    stack,
    teams,
    term_banks,
    webhooks,
)

app = typer.Typer(help="vidsafe: self-hosted video content analysis for trust-and-safety review.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
for group in (stack, analyze, jobs, keys, teams, webhooks, hash_lists, term_banks, policies, backups, dashboard,
              models, settings):
    group.register(app)
