"""What a deployment serves: the catalogue's entries applied to its settings.

Which modules' models Triton serves (``served_modules``, or every one not optional), which files each needs (the
int8 copies, the chosen variant's), which modules are then available (those served, those found while decoding,
and the rules whose needs are), and which modules a job runs.
"""

from __future__ import annotations

from pathlib import Path

from vidsafe.catalogue import INT8_FILE, CatalogueEntry, Module, Source, load_catalogue
from vidsafe.domain.errors import ErrorCode, MediaError
from vidsafe.domain.jobs import JobOptions
from vidsafe.domain.modules import ModuleStatus
from vidsafe.packages import sha256_of
from vidsafe.settings import Settings


def int8_served(entry: CatalogueEntry, settings: Settings) -> tuple[str, ...]:
    """The networks served int8: those that have an int8 copy, when ``settings`` ask for int8."""
    return entry.int8_networks if settings.detector_precision == "int8" else ()


def files_served(entry: CatalogueEntry, settings: Settings) -> tuple[str, ...]:
    """The entry's served files, and the int8 copies of the networks ``settings`` serve int8."""
    return entry.served_files + tuple(f"{network}/1/{INT8_FILE}" for network in int8_served(entry, settings))


def chosen_sources(entry: CatalogueEntry, settings: Settings) -> tuple[Source, ...]:
    """The sources ``settings`` export: those of every variant, and those of the variant its setting names."""
    chosen = getattr(settings, entry.variant_setting) if entry.variant_setting else ""
    return tuple(source for source in entry.sources if source.variant in ("", chosen))


def expected_sha256(entry: CatalogueEntry, settings: Settings) -> dict[str, str]:
    """Each target's sha256 once the chosen sources are exported (a joined target's, not its parts')."""
    return {file.target: entry.joined[file.target] if file.part else file.sha256
            for source in chosen_sources(entry, settings) for file in source.files}


def is_exported(entry: CatalogueEntry, model_repository: Path) -> bool:
    return all((model_repository / path).exists() for path in entry.served_files)


def other_variant_files(entry: CatalogueEntry, settings: Settings) -> list[str]:
    """The exported files of ``entry`` that are not those of the variant ``settings`` choose (an entry with
    variants only: the others' files have the same paths, so only their hashes tell)."""
    if entry.variant_setting is None:
        return []
    return [target for target, sha256 in expected_sha256(entry, settings).items()
            if (settings.model_repository / target).exists()
            and sha256_of(settings.model_repository / target) != sha256]


def served_entries(settings: Settings) -> list[CatalogueEntry]:
    """The entries whose models a stack serves: those of ``served_modules``, or every one that needs nothing more
    (optional ones, CLIP, once exported)."""
    with_models = {m: e for m, e in load_catalogue().items() if e.triton_models}
    if settings.served_modules is not None:
        unknown = sorted(set(settings.served_modules) - set(with_models))
        if unknown:
            raise KeyError(f"not a module of the catalogue with models to serve: {', '.join(unknown)}")
        return [with_models[Module(name)] for name in settings.served_modules]
    return [e for e in with_models.values() if not e.optional or is_exported(e, settings.model_repository)]


def available_modules(entries: list[CatalogueEntry]) -> set[Module]:
    """The modules that ``entries`` (the served ones) make available: theirs, those without models of their own
    (found while decoding, rules), each once what it needs is available."""
    served = {e.module for e in entries}
    available: set[Module] = set()
    candidates = [e for e in load_catalogue().values() if e.module in served or not e.triton_models]
    while added := [e.module for e in candidates if e.module not in available and set(e.needs) <= available]:
        available.update(added)
    return available


def module_statuses(settings: Settings) -> list[ModuleStatus]:
    """Every module: whether this deployment serves it, its Triton models, and how to enable it."""
    available = available_modules(served_entries(settings))
    return [ModuleStatus(module=module, available=module in available, models=list(declared.triton_models),
                         how_to_enable=None if module in available else declared.how_to_enable)
            for module, declared in load_catalogue().items()]


def resolve_modules(options: JobOptions, settings: Settings) -> set[Module]:
    """The modules a job runs (with what they need); asking for one that is not served is an error that says how
    to enable it."""
    statuses = {status.module: status for status in module_statuses(settings)}
    available = {module for module, status in statuses.items() if status.available}
    if options.modules is not None:
        requested = set(options.modules)
    elif settings.default_modules is not None:
        requested = {Module(m) for m in settings.default_modules}
    else:
        requested = available
    catalogue = load_catalogue()
    while needed := {m for r in requested for m in catalogue[r].needs} - requested:
        requested |= needed
    missing = sorted(requested - available)
    if missing:
        raise MediaError(ErrorCode.module_unavailable, "not served by this deployment: "
                         + "; ".join(f"{module} ({statuses[module].how_to_enable})" for module in missing))
    return requested


def job_min_scores(options: JobOptions, settings: Settings) -> dict[Module, float]:
    """Every module's score threshold for a job: its options', else the min_scores setting's, else the catalogue's,
    else 0."""
    return {module: options.min_scores.get(module, settings.min_scores.get(str(module),
                                                                          declared.min_score or 0.0))
            for module, declared in load_catalogue().items()}
