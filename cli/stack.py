"""``vidsafe setup``, ``up``, ``down``, ``status``: the local stack."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import Annotated

import typer
from rich.table import Table

from vidsafe.cli.output import console, fail, out, print_event
from vidsafe.deploy import services, stack
from vidsafe.settings import get_settings


def _apt_install(package: str, *options: str) -> None:
    """apt-get install, refreshing the package lists first when a fresh machine has none yet."""
    command = ["apt-get", "install", "-y", "-q", *options, package]
    if subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


CHROMIUM = "/usr/bin/chromium"
# The caption fonts that the OCR tests and benchmarks/ocr_captions.py draw with: regular, bold, condensed, serif and
# heavy display faces.
CAPTION_FONTS = ("fonts-dejavu-core", "fonts-dejavu-extra", "fonts-liberation", "fonts-roboto-unhinted", "fonts-lato")


def _installed(package: str) -> bool:
    return subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True,
                          text=True).stdout.endswith("installed")


def _require(packages: tuple[str, ...], what: str, *options: str) -> None:
    """Install missing Debian packages with apt-get, or fail saying how when this is not root on Debian."""
    missing = [package for package in packages if not _installed(package)]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise fail(f"{' '.join(missing)} missing: install {what} (`sudo apt-get install {' '.join(missing)}`)")
    console.print(f"installing {' '.join(missing)} (apt-get), {what} ...")
    for package in missing:
        _apt_install(package, *options)


def setup(browser: Annotated[bool, typer.Option(help="Also install Debian's chromium, which the UI's browser tests "
                                                "drive (Playwright's own browser download is never used).")] = False,
          prometheus: Annotated[bool, typer.Option(help="Also install Debian's prometheus (with promtool): the local "
                                                   "stack's optional monitoring (VIDSAFE_PROMETHEUS) and the tests "
                                                   "of the alerting rules.")] = False,
          fonts: Annotated[bool, typer.Option(help="Also install the Debian fonts that the OCR tests and caption "
                                              "benchmark draw captions with.")] = False,
          triton_only: Annotated[bool, typer.Option(help="Only unpack tritonserver and build the models' Python "
                                                    "environment (the Triton image's build step).")] = False,
          ) -> None:
    """Prepare this machine: Redis, the model files, tritonserver and the models' Python environment."""
    from vidsafe.deploy import tritonserver
    from vidsafe.export.models import export_models

    settings = get_settings()
    if triton_only:
        console.print(f"tritonserver: {tritonserver.ensure_tritonserver(settings).binary}")
        console.print(f"models' Python environment: {tritonserver.ensure_model_env(settings)}")
        return
    if settings.redis_url is None and shutil.which("redis-server") is None:
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            raise fail("redis-server is missing: install it (e.g. `sudo apt-get install redis-server`) "
                       "or set REDIS_URL to an existing Redis")
        console.print("installing redis-server (apt-get) ...")
        _apt_install("redis-server")
    if shutil.which("espeak-ng") is None:
        if os.geteuid() == 0 and shutil.which("apt-get"):
            console.print("installing espeak-ng (apt-get), which speaks the sample video's sentence ...")
            _apt_install("espeak-ng")
        else:
            console.print("[yellow]espeak-ng is missing[/]: the sample video will have no speech "
                          "(`sudo apt-get install espeak-ng` adds it)")
    if browser and not os.path.exists(CHROMIUM):
        _require(("chromium",), "Debian's chromium, for the UI's browser tests")
    if prometheus and shutil.which("prometheus") is None:
        # not its node exporter and web fonts
        _require(("prometheus",), "Debian's prometheus, the stack's optional monitoring", "--no-install-recommends")
    if fonts:
        _require(CAPTION_FONTS, "the caption fonts")
    console.print("exporting models (pinned, hash-checked) ...")
    for path in export_models(settings):
        console.print(f"  {path.relative_to(settings.model_repository)}")
    console.print("unpacking tritonserver ...")
    install = tritonserver.ensure_tritonserver(settings)
    console.print(f"  {install.binary}")
    console.print("preparing the models' Python environment ...")
    console.print(f"  {tritonserver.ensure_model_env(settings)}")
    console.print("[green]set-up complete[/]")


def start_stack() -> None:
    """Start the stack, or end the command saying why it could not start."""
    try:
        stack.up(get_settings(), on_event=print_event)
    except services.StackError as error:
        raise fail(str(error)) from None
    except KeyboardInterrupt:
        raise fail("interrupted: stopped what had been started") from None


def up(attach: Annotated[bool, typer.Option(help="Stay in the foreground; Ctrl-C stops the stack.")] = False) -> None:
    """Start the local stack (Postgres, Redis, Triton, worker, maintenance loop, gateway, review UI); wait until it is
    healthy."""
    settings = get_settings()
    start_stack()
    console.print(f"[green]stack up[/]: API {settings.gateway_url}/docs, review UI {settings.ui_url}, logs in "
                  f"{settings.logs_dir}")
    if attach:
        try:
            while all(row.state in ("running", "external") for row in stack.status(settings)):
                time.sleep(2)
            console.print("[red]a service stopped[/]; stopping the stack")
        except KeyboardInterrupt:
            pass
        stack.down(settings, on_event=print_event)


def down() -> None:
    """Stop everything the local stack started."""
    stopped = stack.down(get_settings(), on_event=print_event)
    console.print(f"stopped {', '.join(stopped)}" if stopped else "nothing was running")


def status() -> None:
    """Show each service of the local stack, its state and address."""
    table = Table("service", "state", "pid", "address", "log")
    colour = {"running": "green", "external": "cyan", "stopped": "dim", "unhealthy": "red"}
    for row in stack.status(get_settings()):
        table.add_row(row.name, f"[{colour[row.state]}]{row.state}[/]", str(row.pid or ""), row.address,
                      str(row.log or ""))
    out.print(table)


def serve(service: Annotated[str, typer.Argument(help=f"One of {', '.join(services.CONTAINER_SERVICES)}.")]) -> None:
    """Run one service in the foreground, as a container does (Docker Compose, Kubernetes): the very command `vidsafe
    up` starts for it, in place of this process, its logs on stderr. Postgres and Redis are found by their URLs."""
    try:
        launch = services.launch_of(get_settings(), service)
    except services.StackError as error:
        raise fail(str(error)) from None
    os.execvpe(launch.command[0], launch.command, launch.env)


def register(app: typer.Typer) -> None:
    for command in (setup, up, down, status, serve):
        app.command()(command)
