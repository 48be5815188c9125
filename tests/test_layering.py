"""The package's layering rules (docs/architecture.md), checked on the source with ``ast``.

- no import cycle between modules — function-level imports count (``if TYPE_CHECKING:``
  blocks do not: they never run);
- no private name (``_x``) of one module used by another;
- ``Payment.status`` assigned only by the status writer (payments/status.py);
- the Yamato package imports neither Flask, SQLAlchemy nor the rest of the package (only the
  leaf ``errors``); the sandbox imports only the Yamato package and ``errors`` from it;
- no module over 500 lines; no module-level ``__getattr__`` forwarding.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "flask_kuroneko"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE
MAX_LINES = 500
STATUS_WRITER = f"{PACKAGE}.payments.status"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}
TREES = {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in MODULES.items()}


def is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the nodes inside ``if TYPE_CHECKING:`` blocks."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and (
                (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
                or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING")):
            for child in node.body:
                skipped.update(id(n) for n in ast.walk(child))
    return skipped


def imports(name: str) -> list[tuple[str, list[str], int]]:
    """(imported module, names imported from it, line) for every import that runs."""
    tree = TREES[name]
    skipped = type_checking_nodes(tree)
    package = name if is_package(name) else name.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append((alias.name, [], node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            plain = []
            for alias in node.names:
                if f"{base}.{alias.name}" in MODULES:      # a submodule
                    found.append((f"{base}.{alias.name}", [], node.lineno))
                else:
                    plain.append(alias.name)
            if plain:
                found.append((base, plain, node.lineno))
    return found


def internal_edges() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name in MODULES:
        for target, _, _ in imports(name):
            if target in MODULES and target != name:
                graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    assert cycles(internal_edges()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def module_aliases(name: str) -> dict[str, str]:
    """Local names bound to package modules (``from . import journal``, ``import x.y as z``)."""
    aliases = {}
    for node in ast.walk(TREES[name]):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for target, names, _ in imports_of_node(name, node):
                if target in MODULES and not names:
                    aliases[target_alias(node, target)] = target
    return aliases


def imports_of_node(name: str, node: ast.AST) -> list[tuple[str, list[str], int]]:
    return [entry for entry in imports(name) if entry[2] == node.lineno]


def target_alias(node: ast.AST, target: str) -> str:
    for alias in node.names:
        if target.endswith("." + alias.name) or target == alias.name:
            return alias.asname or alias.name.split(".")[-1]
    return target.rsplit(".", 1)[-1]


def private(attr: str) -> bool:
    return attr.startswith("_") and not (attr.startswith("__") and attr.endswith("__"))


def test_no_private_names_across_modules():
    used = []
    for name in MODULES:
        for target, names, line in imports(name):
            if target.startswith(PACKAGE):
                used += [f"{name}:{line} imports {target}.{n}" for n in names if private(n)]
        aliases = module_aliases(name)
        for node in ast.walk(TREES[name]):
            if (isinstance(node, ast.Attribute) and private(node.attr)
                    and isinstance(node.value, ast.Name) and node.value.id in aliases):
                used.append(f"{name}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}")
    assert used == []


def status_assignments(name: str) -> list[int]:
    lines = []
    for node in ast.walk(TREES[name]):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            for leaf in ast.walk(target):
                if isinstance(leaf, ast.Attribute) and leaf.attr == "status":
                    lines.append(node.lineno)
        if isinstance(node, ast.Call):
            func = node.func
            if (isinstance(func, ast.Name) and func.id == "setattr" and len(node.args) > 1
                    and isinstance(node.args[1], ast.Constant) and node.args[1].value == "status"):
                lines.append(node.lineno)
            if isinstance(func, ast.Attribute) and func.attr == "values" and any(
                    k.arg == "status" for k in node.keywords):
                lines.append(node.lineno)
    return lines


def test_only_the_status_writer_assigns_a_status():
    outside = {name: status_assignments(name) for name in MODULES
               if name != STATUS_WRITER and not name.startswith(f"{PACKAGE}.sandbox")}
    assert {name: lines for name, lines in outside.items() if lines} == {}
    assert status_assignments(STATUS_WRITER), "the writer itself must assign the status"


def foreign_imports(prefix: str, allowed: tuple[str, ...]) -> list[str]:
    bad = []
    for name in MODULES:
        if not name.startswith(prefix):
            continue
        for target, _, line in imports(name):
            top = target.split(".")[0]
            if top in ("flask", "flask_sqlalchemy", "sqlalchemy", "werkzeug") and \
                    prefix.endswith(".yamato"):
                bad.append(f"{name}:{line} imports {target}")
            elif target.startswith(PACKAGE) and not target.startswith(allowed):
                bad.append(f"{name}:{line} imports {target}")
    return bad


def test_the_yamato_package_knows_nothing_of_flask_or_the_database():
    assert foreign_imports(f"{PACKAGE}.yamato", (f"{PACKAGE}.yamato", f"{PACKAGE}.errors")) == []


def test_the_sandbox_uses_only_the_yamato_package():
    allowed = (f"{PACKAGE}.sandbox", f"{PACKAGE}.yamato", f"{PACKAGE}.errors")
    assert foreign_imports(f"{PACKAGE}.sandbox", allowed) == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_size(name):
    lines = MODULES[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{name} has {lines} lines (at most {MAX_LINES}): split it by concern"


def test_no_module_getattr_forwarding():
    assert [name for name, tree in TREES.items() if any(
        isinstance(node, ast.FunctionDef) and node.name == "__getattr__" for node in tree.body)] == []


def test_the_checks_see_a_violation():
    """The checks are not vacuous: a status assignment and a private import are found."""
    tree = ast.parse("from .journal import _x\npayment.status = 'captured'\n")
    TREES["_probe"], MODULES["_probe"] = tree, MODULES[STATUS_WRITER]
    try:
        assert status_assignments("_probe") == [2]
        assert any(private(n) for _, names, _ in imports("_probe") for n in names)
    finally:
        del TREES["_probe"], MODULES["_probe"]
