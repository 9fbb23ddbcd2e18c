"""The import graph of ``instances``, ``solvers`` and ``reductions``: layers, no circle, no borrowed private names.

Every module of the three packages is parsed (``ast``, nothing is imported)
and every ``import`` and ``from ... import`` statement counts: at module
level, inside functions and methods (imports made on first use), and under
``if TYPE_CHECKING:``. An import of ``a.b.c`` is an edge to the module
``a.b.c``; ``from a.b import c`` is an edge to ``a.b.c`` when that is a module
of the packages, else to ``a.b`` (``c`` is then a name defined there).
Relative imports are resolved against the importing module's package.

The rules:

* no circle, whatever kind the imports are;
* ``instances`` imports nothing from ``solvers`` or ``reductions``, and
  ``solvers`` nothing from ``reductions``;
* the framework (``reductions/*.py`` at the top level) imports nothing from
  ``reductions.catalog`` or ``reductions.app``, and the catalogue nothing from
  the application; two top-level modules are not framework: the package
  facade ``reductions/__init__.py``, which re-exports catalogue names (lazily;
  its ``TYPE_CHECKING`` block names them for type checkers), and
  ``reductions/__main__.py``, which starts the command line;
* a private name (``_x``) is imported only from a module of the importer's
  own package (or a package below it).
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import attrs
import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("instances", "solvers", "reductions")
FRAMEWORK_EXCEPTIONS = {"reductions", "reductions.__main__"}


@attrs.frozen
class Import:
    """One imported module (or name) at one place."""

    importer: str
    module: str
    name: str | None  # the name taken by ``from module import name``; None for ``import module``
    kind: str  # "module", "function" or "type_checking"
    line: int

    def __str__(self) -> str:
        what = self.module if self.name is None else f"{self.module} import {self.name}"
        return f"{self.importer}:{self.line}: {what} ({self.kind}-level)"


def module_files() -> dict[str, Path]:
    """Every module of the three packages by dotted name (a package by its own name)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> list[Import]:
    """The imports in one module, first-party and third-party alike."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, kind: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                visit(child, "function")
            elif isinstance(child, ast.If) and kind == "module" and _is_type_checking(child):
                for statement in child.body:
                    visit(ast.Module(body=[statement], type_ignores=[]), "type_checking")
                for statement in child.orelse:
                    visit(ast.Module(body=[statement], type_ignores=[]), kind)
            elif isinstance(child, ast.Import):
                found.extend(Import(name, alias.name, None, kind, child.lineno) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parts = package.split(".")
                    parts = parts[: len(parts) - (child.level - 1)]
                    base = ".".join([*parts, base] if base else parts)
                for alias in child.names:
                    submodule = f"{base}.{alias.name}"
                    if submodule in modules:
                        found.append(Import(name, submodule, None, kind, child.lineno))
                    else:
                        found.append(Import(name, base, alias.name, kind, child.lineno))
            else:
                visit(child, kind)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), "module")
    return found


def first_party(module: str) -> bool:
    return module.split(".")[0] in PACKAGES


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    modules = module_files()
    return [found for name, path in modules.items() for found in imports_of(name, path, modules)]


@pytest.fixture(scope="module")
def edges(imports: list[Import]) -> list[Import]:
    return [found for found in imports if first_party(found.module) and found.module != found.importer]


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_every_module_is_parsed_and_every_kind_of_import_is_seen(imports: list[Import]) -> None:
    modules = module_files()
    assert {"instances.cnf", "solvers.sat", "reductions.registry", "reductions.catalog.sat_ov"} <= set(modules)
    kinds = Counter(found.kind for found in imports if first_party(found.module))
    # the three kinds all occur, so a rule below that finds nothing is not blind to one of them
    assert kinds["module"] and kinds["function"] and kinds["type_checking"], kinds


def test_no_import_circle(edges: list[Import]) -> None:
    graph = nx.DiGraph()
    graph.add_nodes_from(module_files())
    for found in edges:
        graph.add_edge(found.importer, found.module, at=str(found))
    circles = list(nx.simple_cycles(graph))
    described = [
        " -> ".join([*circle, circle[0]])
        + ": "
        + "; ".join(graph.edges[u, v]["at"] for u, v in zip(circle, [*circle[1:], circle[0]], strict=True))
        for circle in circles
    ]
    assert not circles, "\n".join(described)


@pytest.mark.parametrize(
    ("lower", "higher"),
    [("instances", "solvers"), ("instances", "reductions"), ("solvers", "reductions")],
)
def test_lower_packages_import_nothing_from_higher_ones(edges: list[Import], lower: str, higher: str) -> None:
    wrong = [str(found) for found in edges if within(found.importer, lower) and within(found.module, higher)]
    assert not wrong, "\n".join(wrong)


def test_framework_imports_neither_catalogue_nor_application(edges: list[Import]) -> None:
    framework = {
        name
        for name, path in module_files().items()
        if path.parent == ROOT / "reductions" and name not in FRAMEWORK_EXCEPTIONS
    }
    assert {"reductions.core", "reductions.registry", "reductions.pipeline", "reductions.verify"} <= framework
    wrong = [
        str(found)
        for found in edges
        if found.importer in framework
        and (within(found.module, "reductions.catalog") or within(found.module, "reductions.app"))
    ]
    assert not wrong, "\n".join(wrong)


def test_catalogue_imports_nothing_from_the_application(edges: list[Import]) -> None:
    wrong = [
        str(found)
        for found in edges
        if within(found.importer, "reductions.catalog") and within(found.module, "reductions.app")
    ]
    assert not wrong, "\n".join(wrong)


def test_private_names_stay_inside_their_package(edges: list[Import]) -> None:
    modules = module_files()

    def package_of(module: str) -> str:
        return module if modules[module].name == "__init__.py" else module.rpartition(".")[0]

    wrong = [
        str(found)
        for found in edges
        if found.name is not None
        and found.name.startswith("_")
        and not found.name.startswith("__")
        and not within(found.module, package_of(found.importer))
    ]
    assert not wrong, "\n".join(wrong)


def test_the_rules_catch_what_they_forbid(tmp_path: Path) -> None:
    """The parser sees a function-level import, a TYPE_CHECKING one and a relative one."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from solvers.sat import solve_sat\n"
        "def f():\n    from ..dimacs import _decode\n    import reductions.app.cli\n"
    )
    path = tmp_path / "fake.py"
    path.write_text(source, encoding="utf-8")
    modules = {"instances.fake": path, "instances.dimacs": path}
    found = [(i.module, i.name, i.kind) for i in imports_of("instances.sub.fake", path, modules)]
    assert found == [
        ("typing", "TYPE_CHECKING", "module"),
        ("solvers.sat", "solve_sat", "type_checking"),
        ("instances.dimacs", "_decode", "function"),
        ("reductions.app.cli", None, "function"),
    ]
