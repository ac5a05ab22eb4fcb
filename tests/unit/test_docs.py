"""The README's generated tables match the code they describe."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from vidsafe.domain.errors import ErrorCode
from vidsafe.settings import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"


@pytest.mark.parametrize(("block", "command"), [("settings", ["settings", "--markdown"]),
                                                ("catalogue", ["models", "list", "--markdown"])])
def test_readme_table_is_generated_from_the_code(block: str, command: list[str]) -> None:
    section = re.search(rf"<!-- {block}:begin -->\n(.*?)<!-- {block}:end -->", README.read_text(), re.S)
    assert section, f"README has no {block} block"
    generated = subprocess.run([sys.executable, "-m", "vidsafe.cli", *command], capture_output=True, text=True,
                               check=True, env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home())}).stdout
    assert section[1] == generated, f"regenerate the README's {block} table: vidsafe {' '.join(command)}"


def test_readme_error_table_lists_every_error_code() -> None:
    """The table of codes under "Using it" and ``ErrorCode``, both ways: every code documented, no stale one."""
    text = README.read_text()
    table = text[text.index("| code | HTTP / job | when |"):]
    table = table[:table.index("\n\n")]
    documented = {code for row in table.splitlines()[2:] for code in re.findall(r"`([a-z_]+)`", row.split("|")[1])}
    assert documented == {code.value for code in ErrorCode}, (
        f"undocumented: {sorted({c.value for c in ErrorCode} - documented)}; "
        f"not codes: {sorted(documented - {c.value for c in ErrorCode})}")


def test_architecture_names_only_paths_that_exist() -> None:
    """Every path ARCHITECTURE.md's table names is in the tree, and every module of the services is named."""
    text = (README.parent / "ARCHITECTURE.md").read_text()
    table = text[text.index("| path | what it is |"):]
    named = {path for row in table.splitlines()[2:] for path in re.findall(r"`([\w./-]+)`", row.split("|")[1])}
    missing = sorted(path for path in named if not (README.parent / path).exists())
    assert not missing, f"ARCHITECTURE.md names paths that do not exist: {missing}"
    modules = {str(path.relative_to(README.parent)) for folder in ("gateway", "workers", "cli")
               for path in (README.parent / folder).glob("*.py") if path.name not in ("__init__.py", "__main__.py")}
    unnamed = sorted(module for module in modules if module not in named and f"{Path(module).parent}/" not in named)
    assert not unnamed, f"ARCHITECTURE.md does not say where these live: {unnamed}"


def test_the_readme_links_the_security_policy_and_its_tests_exist() -> None:
    assert "](SECURITY.md)" in README.read_text()
    security = (README.parent / "SECURITY.md").read_text()
    named = re.findall(r"`((?:tests/[\w/]+/)?test_\w+\.py)`", security)
    folders = [README.parent / "tests" / tier for tier in ("unit", "stack", "browser")]
    missing = [name for name in named if not any(folder.rglob(Path(name).name) for folder in folders)]
    assert named and not missing, f"SECURITY.md names tests that do not exist: {missing}"
