"""The README's generated tables match the code they describe."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.parametrize(("block", "command"), [("settings", ["settings", "--markdown"]),
                                                ("catalogue", ["models", "list", "--markdown"])])
def test_readme_table_is_generated_from_the_code(block: str, command: list[str]) -> None:
    section = re.search(rf"<!-- {block}:begin -->\n(.*?)<!-- {block}:end -->", README.read_text(), re.S)
    assert section, f"README has no {block} block"
    generated = subprocess.run([sys.executable, "-m", "deploy.cli", *command], capture_output=True, text=True,
                               check=True, env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home())}).stdout
    assert section[1] == generated, f"regenerate the README's {block} table: vidsafe {' '.join(command)}"
