"""``vidsafe models list`` and ``vidsafe export``: the model catalogue, and making its files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vidsafe.catalogue import load_catalogue
from vidsafe.cli.output import console, fail, out
from vidsafe.serving import chosen_sources, is_exported, other_variant_files, served_entries
from vidsafe.settings import get_settings

models_app = typer.Typer(help="The model catalogue.", no_args_is_help=True)


def catalogue_markdown() -> str:
    """The README's catalogue table: one row per module and source."""
    lines = ["| module | task | source | licence | Triton models |", "|---|---|---|---|---|"]
    for entry in load_catalogue().values():
        for source in entry.sources:
            licence = f"**{source.licence}**: {source.licence_note}" if source.licence_note else source.licence
            files = ", ".join(f"`{f.member}` (`{f.sha256[:12]}`" + (
                f"; part {f.part} of `{Path(f.target).name}`, `{entry.joined[f.target][:12]}`)" if f.part else ")")
                for f in source.files)
            variant = f" (`{entry.variant_setting}` = `{source.variant}`)" if source.variant else ""
            lines.append(f"| `{entry.module}` | {entry.task} | [{source.package}=={source.version}]"
                         f"({source.upstream}){variant}: {files} | {licence} | {', '.join(entry.triton_models)} |")
    return "\n".join(lines)


@models_app.command("list")
def models_list(
    markdown: Annotated[bool, typer.Option(help="Print the README's catalogue table.")] = False,
) -> None:
    """Print the model catalogue: module, sources, licences, and whether each module is exported and served."""
    if markdown:
        print(catalogue_markdown())
        return
    settings = get_settings()
    served = {entry.module for entry in served_entries(settings)}
    table = Table("module", "source", "licence", "exported", "served")
    for entry in load_catalogue().values():
        exported = "[red]no[/]" if not is_exported(entry, settings.model_repository) else \
            f"[red]another {entry.variant_setting}'s[/]" if other_variant_files(entry, settings) else "yes"
        for source in chosen_sources(entry, settings):
            licence = source.licence if source.licence.startswith(("MIT", "Apache")) else \
                f"[yellow]{source.licence}[/]"
            table.add_row(entry.module, f"{source.package}=={source.version}", licence,
                          exported, "yes" if entry.module in served else "no")
    out.print(table)


def export(
    names: Annotated[list[str] | None, typer.Argument(help="Modules of the catalogue; default all.")] = None,
    gpu: Annotated[bool, typer.Option(help="Also write the gpu profile: its configs (configs/gpu.pbtxt) and its DALI "
                                      "pipelines (model.dali).")] = False,
) -> None:
    """Fetch and verify model files and write them into the model repository."""
    from vidsafe.export.models import export_models
    from vidsafe.packages import ExportError

    settings = get_settings()
    try:
        paths = export_models(settings, names or None)
    except (KeyError, ExportError) as error:
        raise fail(str(error).strip("'\"")) from None
    if gpu:
        from vidsafe.export.dali import serialize_dali_pipelines
        from vidsafe.export.profiles import write_gpu_configs

        paths += write_gpu_configs(settings.model_repository) + serialize_dali_pipelines(settings)
    for path in paths:
        console.print(f"exported {path}")


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
    app.command("export")(export)
