"""The installed package's imports, walked from its sources: no import cycle, and every layer imports only what it
may (ARCHITECTURE.md, "Layers"): the shared core no service, each service the core alone, the command line the
core and the operator's tools (deploy, export). Imports under ``if TYPE_CHECKING:`` are not imports at run time."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil
from collections.abc import Iterator
from pathlib import Path

import vidsafe

SERVICES = ("gateway", "workers", "ui")
TOOLS = ("deploy", "export")
MAY_IMPORT = {"core": {"core"}, **{name: {"core", name} for name in (*SERVICES, *TOOLS)},
              "cli": {"core", "cli", *TOOLS}}


def _modules() -> Iterator[str]:
    yield from (info.name for info in pkgutil.walk_packages(vidsafe.__path__, "vidsafe."))
    for name in (*SERVICES, *TOOLS, "cli"):  # installed under vidsafe from folders of their own
        yield f"vidsafe.{name}"
        package = importlib.import_module(f"vidsafe.{name}")
        yield from (info.name for info in pkgutil.walk_packages(package.__path__, f"vidsafe.{name}."))


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a name inside a module, not a module
        return False


def _imports(module: str) -> set[str]:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    tree = ast.parse(Path(spec.origin).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            node.body = []
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("vidsafe"):
            found |= {f"{node.module}.{a.name}" if _is_module(f"{node.module}.{a.name}") else node.module
                      for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("vidsafe")}
    return found - {module}


GRAPH = {module: _imports(module) for module in _modules()}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in MAY_IMPORT else "core"


def _cycles() -> list[list[str]]:
    """The graph's strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in GRAPH.get(module, ()):
            if other not in GRAPH:
                continue
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while (member := stack.pop()) != module:
                component.append(member)
            if component:
                cycles.append(sorted([module, *component]))

    for module in GRAPH:
        if module not in index:
            visit(module)
    return cycles


def test_the_walk_sees_every_part_of_the_package() -> None:
    assert {_layer(module) for module in GRAPH} == set(MAY_IMPORT)
    assert len(GRAPH) > 100 and "vidsafe.gateway.services.submissions" in GRAPH


def test_no_import_cycle() -> None:
    assert _cycles() == []


def test_each_layer_imports_only_what_it_may() -> None:
    crossings = sorted(f"{module} -> {other}" for module, imported in GRAPH.items() for other in imported
                       if _layer(other) not in MAY_IMPORT[_layer(module)])
    assert crossings == []
