"""Where the embedded Postgres 16's programs are: the ``pgserver`` wheel's (postgres, initdb, pg_dump, pg_restore):
the launcher runs the server, backups run the dump and restore."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def _package_dir(name: str) -> Path:
    # Importing pgserver would create its own lock and runtime folders; only its files are needed.
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"the {name} package is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


PG_BIN = _package_dir("pgserver") / "pginstall" / "bin"
