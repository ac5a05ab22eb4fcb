"""The model catalogue (catalogue.toml): source, pinned hashes and licence of every served model."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CATALOGUE_PATH = Path(__file__).with_name("catalogue.toml")


@dataclass(frozen=True)
class CatalogueEntry:
    name: str
    task: str
    triton_model: str
    components: tuple[str, ...]
    package: str
    version: str
    wheel_sha256: str
    file: str
    file_sha256: str
    target: str
    licence: str
    licence_note: str
    upstream: str
    enabled: bool


@cache
def load_catalogue() -> dict[str, CatalogueEntry]:
    raw = tomllib.loads(CATALOGUE_PATH.read_text())["models"]
    return {
        name: CatalogueEntry(name=name, **{**fields, "components": tuple(fields["components"])})
        for name, fields in raw.items()
    }
