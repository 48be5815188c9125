"""The sandbox package's shape (DESIGN.md "Layers"): no import cycle — function-level and
TYPE_CHECKING imports included —, nothing from the rest of flask_kuroneko but ``yamato`` and
``errors``, no private name of one module used by another, no module over 500 lines.

Read from the source with ``ast``, so an import hidden inside a function counts as much as
one at the top of the file.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "flask_kuroneko.sandbox"
ROOT = Path(__file__).resolve().parents[1] / "flask_kuroneko" / "sandbox"
ALLOWED_OUTSIDE = ("flask_kuroneko.yamato", "flask_kuroneko.errors")
MAX_LINES = 500


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(ROOT.glob("*.py")):
        name = PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}"
        found[name] = path
    return found


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    package = module if module == PACKAGE else module.rsplit(".", 1)[0]
    parts = package.split(".")
    base = parts[: len(parts) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str, tree: ast.AST, known: set[str]) -> list[tuple[str, list[str]]]:
    """(imported module, names taken from it) for every import statement anywhere."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            names = [alias.name for alias in node.names]
            submodules = [f"{target}.{n}" for n in names if f"{target}.{n}" in known]
            found += [(sub, []) for sub in submodules]
            rest = [n for n in names if f"{target}.{n}" not in known]
            if rest or not submodules:
                found.append((target, rest))
    return found


def graph() -> dict[str, set[str]]:
    known = set(modules())
    edges: dict[str, set[str]] = {}
    for name, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        edges[name] = {target for target, _ in imports_of(name, tree, known)
                       if target in known and target != PACKAGE}
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}          # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_cycle_finder_finds_cycles():
    """The check below cannot pass vacuously."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    src = ("def f():\n    from .app import simulator\n"
           "if TYPE_CHECKING:\n    from .simulator import Context\n")
    found = imports_of(f"{PACKAGE}.ui", ast.parse(src), {f"{PACKAGE}.app", f"{PACKAGE}.simulator"})
    assert found == [(f"{PACKAGE}.app", ["simulator"]), (f"{PACKAGE}.simulator", ["Context"])]


def test_no_import_cycle_in_the_sandbox():
    edges = graph()
    assert len(edges) > 10
    assert f"{PACKAGE}.current" in edges[f"{PACKAGE}.ui"]
    cycle = find_cycle(edges)
    assert cycle is None, " -> ".join(cycle or [])


@pytest.mark.parametrize("module", sorted(modules()))
def test_imports_nothing_else_from_the_package(module):
    known = set(modules())
    tree = ast.parse(modules()[module].read_text(encoding="utf-8"))
    outside = sorted({target for target, _ in imports_of(module, tree, known)
                      if target.startswith("flask_kuroneko")
                      and not target.startswith(PACKAGE)
                      and not target.startswith(ALLOWED_OUTSIDE)})
    assert outside == []


@pytest.mark.parametrize("module", sorted(modules()))
def test_no_private_name_of_another_module(module):
    known = set(modules())
    tree = ast.parse(modules()[module].read_text(encoding="utf-8"))
    offences = []
    sibling_aliases = set()
    for target, names in imports_of(module, tree, known):
        if target.startswith("flask_kuroneko"):
            offences += [f"from {target} import {n}" for n in names
                         if n.startswith("_") and not n.startswith("__")]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            sibling_aliases |= {a.asname or a.name for a in node.names
                                if f"{_resolve(module, node)}.{a.name}" in known}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in sibling_aliases and node.attr.startswith("_")
                and not node.attr.startswith("__")):
            offences.append(f"{node.value.id}.{node.attr}")
    assert offences == []


@pytest.mark.parametrize("module", sorted(modules()))
def test_module_size(module):
    lines = modules()[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{module}: {lines} lines"
