"""The model catalogue (catalogue.toml): source, pinned hashes and licence of every served model."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from vidsafe.domain import ErrorCode, JobOptions, MediaError, Module, ModuleStatus
from vidsafe.settings import Settings

CATALOGUE_PATH = Path(__file__).with_name("catalogue.toml")


@dataclass(frozen=True)
class CatalogueFile:
    member: str  # path inside the wheel
    sha256: str
    target: str  # path inside the model repository


@dataclass(frozen=True)
class CatalogueEntry:
    name: str
    module: str
    task: str
    components: tuple[str, ...]
    signature: str
    package: str
    version: str
    wheel_sha256: str
    files: tuple[CatalogueFile, ...]
    licence: str
    licence_note: str
    upstream: str
    enabled: bool
    optional: bool = False  # served only once exported (CLIP: needs a checkpoint you supply)
    convert: str | None = None  # "module:function" run after the files are fetched
    served: tuple[str, ...] = ()  # files (relative to model_repository/) Triton needs; default: the targets

    @property
    def triton_model(self) -> str:
        """The Triton model the workers call."""
        return self.components[0]

    @property
    def served_files(self) -> tuple[str, ...]:
        return self.served or tuple(f.target for f in self.files)


def is_exported(entry: CatalogueEntry, model_repository: Path) -> bool:
    return all((model_repository / path).exists() for path in entry.served_files)


def served_entries(model_repository: Path, names: list[str] | None = None) -> list[CatalogueEntry]:
    """The entries a stack serves: those named, or every enabled one (optional ones once exported)."""
    catalogue = load_catalogue()
    if names is not None:
        unknown = sorted(set(names) - set(catalogue))
        if unknown:
            raise KeyError(f"not in the model catalogue: {', '.join(unknown)}")
        return [catalogue[name] for name in names]
    return [e for e in catalogue.values()
            if e.enabled and (not e.optional or is_exported(e, model_repository))]


def available_modules(entries: list[CatalogueEntry]) -> set[Module]:
    """Modules whose every catalogue entry is among ``entries`` (the served ones). Restraint is a rule
    over pose findings (CLIP adds to it when served), so it is available with pose."""
    by_module: dict[str, set[str]] = {}
    for entry in load_catalogue().values():
        by_module.setdefault(entry.module, set()).add(entry.name)
    served = {entry.name for entry in entries}
    modules = {Module(module) for module, names in by_module.items() if names <= served}
    if Module.pose in modules:
        modules.add(Module.restraint)
    return modules


def _enable_hint(module: Module) -> str:
    if module == Module.clip:
        return "CLIP needs a checkpoint: set VIDSAFE_CLIP_CHECKPOINT and run `vidsafe export clip`"
    if module == Module.restraint:
        return "restraint reads pose findings: serve the pose model"
    return "its models are not served: run `vidsafe setup`, or check VIDSAFE_MODELS"


def module_statuses(settings: Settings) -> list[ModuleStatus]:
    """Every module: whether this deployment serves it, its catalogue entries, and how to enable it."""
    available = available_modules(served_entries(settings.model_repository, settings.models))
    entries: dict[str, list[str]] = {}
    for entry in load_catalogue().values():
        entries.setdefault(entry.module, []).append(entry.name)
    return [ModuleStatus(module=module, available=module in available, models=entries.get(module, []),
                         how_to_enable=None if module in available else _enable_hint(module))
            for module in Module]


def resolve_modules(options: JobOptions, settings: Settings) -> set[Module]:
    """The modules a job runs; asking for one that is not served is an error that says how to enable it."""
    statuses = {status.module: status for status in module_statuses(settings)}
    available = {module for module, status in statuses.items() if status.available}
    if options.modules is not None:
        requested = set(options.modules)
    elif settings.default_modules is not None:
        requested = {Module(m) for m in settings.default_modules}
    else:
        requested = available
    if Module.restraint in requested:
        requested.add(Module.pose)  # the rule reads pose findings
    missing = sorted(requested - available)
    if missing:
        raise MediaError(ErrorCode.module_unavailable, "not served by this deployment: "
                         + "; ".join(f"{module} ({statuses[module].how_to_enable})" for module in missing))
    return requested


@cache
def load_catalogue() -> dict[str, CatalogueEntry]:
    raw = tomllib.loads(CATALOGUE_PATH.read_text())["models"]
    return {
        name: CatalogueEntry(
            name=name,
            **{
                **fields,
                "components": tuple(fields["components"]),
                "files": tuple(CatalogueFile(**f) for f in fields.get("files", ())),
                "served": tuple(fields.get("served", ())),
            },
        )
        for name, fields in raw.items()
    }
