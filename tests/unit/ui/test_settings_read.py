"""The review UI reads no setting but the gateway's address: the values it shows it asks the gateway
(``GET /v1/policy``), so a UI beside another deployment's gateway shows that deployment's."""

from __future__ import annotations

import ast
from pathlib import Path

import vidsafe.ui


def test_the_ui_reads_only_the_gateways_address() -> None:
    reads = []
    for path in Path(vidsafe.ui.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Call) \
                    and ast.unparse(node.value.func) in ("get_settings", "Settings"):
                reads.append((path.name, node.attr))
            if isinstance(node, ast.Name) and node.id == "Settings":
                reads.append((path.name, "Settings"))
    assert reads == [("session.py", "gateway_url")]
