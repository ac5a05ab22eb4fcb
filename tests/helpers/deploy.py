"""Where the venv's console scripts are (hadolint, kubectl, check-jsonschema, vidsafe)."""

from __future__ import annotations

import sys
from pathlib import Path

BIN = Path(sys.executable).parent
