"""Running the vidsafe command as a user would: a child process with a stack's settings in its environment."""

from __future__ import annotations

import os
import subprocess
import sys

from vidsafe.settings import Settings

VIDSAFE = [sys.executable, "-m", "vidsafe.cli"]


def vidsafe_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **settings.to_env(), "COLUMNS": "200"}  # wide enough that tables do not wrap
    return subprocess.run([*VIDSAFE, *args], env=env, capture_output=True, text=True, timeout=600)
