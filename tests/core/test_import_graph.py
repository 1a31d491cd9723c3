"""No import cycles among the core modules, read from the source with ``ast``.

Two graphs: the imports a module runs when it is imported (module level, ``TYPE_CHECKING``
blocks left out), and the same plus the imports inside functions. A cycle in the first breaks
``import``; a cycle in the second is the same tangle held apart only by where the import sits.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import kinject

CORE = Path(kinject.__file__).parent


def module_names(root: Path) -> dict[str, Path]:
    """``kinject.x.y`` -> file, for every module of the package in ``root``."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def _is_type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _statements(body: list[ast.stmt], inside_functions: bool) -> list[ast.stmt]:
    """Statements that run on import (or, with ``inside_functions``, anywhere), minus
    TYPE_CHECKING.
    """
    found: list[ast.stmt] = []
    for node in body:
        if _is_type_checking(node):
            continue
        found.append(node)
        nested = (
            not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            or inside_functions
        )
        if nested or isinstance(node, ast.ClassDef):
            for field in ("body", "orelse", "finalbody", "handlers"):
                for child in getattr(node, field, []):
                    found += _statements(
                        child.body if isinstance(child, ast.ExceptHandler) else [child],
                        inside_functions,
                    )
    return found


def imports_of(
    path: Path, package: str, modules: dict[str, Path], inside_functions: bool
) -> set[str]:
    """The modules of ``package`` that ``path`` imports (``from pkg import submodule`` names the
    submodule).
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in _statements(tree.body, inside_functions):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in modules}
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").split(".")[0] == package
        ):
            subs = {f"{node.module}.{a.name}" for a in node.names} & modules.keys()
            out |= subs or ({node.module} & modules.keys())
    return out


def import_graph(root: Path, inside_functions: bool) -> dict[str, set[str]]:
    modules = module_names(root)
    return {
        name: imports_of(path, root.name, modules, inside_functions) - {name}
        for name, path in modules.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as ``[a, b, ..., a]``, or ``[]`` when the graph has none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return []

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return []


@pytest.mark.parametrize(
    "inside_functions", [False, True], ids=["module-level", "with-function-level"]
)
def test_core_modules_import_each_other_without_a_cycle(inside_functions: bool) -> None:
    graph = import_graph(CORE, inside_functions)
    assert len(graph) > 30 and graph["kinject.pipeline"]  # the whole package was read
    cycle = find_cycle(graph)
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_paths_imports_nothing_of_kinject() -> None:
    assert import_graph(CORE, inside_functions=True)["kinject.paths"] == set()


def test_a_cycle_is_found_and_a_type_checking_import_is_not_one(tmp_path: Path) -> None:
    pkg = tmp_path / "kinject"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text(
        "from typing import TYPE_CHECKING\nfrom kinject import b\nif TYPE_CHECKING:\n    import "
        "kinject.c\n"
    )
    (pkg / "b.py").write_text("def f():\n    from kinject.a import x\n")
    (pkg / "c.py").write_text("import kinject.a\n")
    assert find_cycle(import_graph(pkg, inside_functions=False)) == []
    assert find_cycle(import_graph(pkg, inside_functions=True)) == [
        "kinject.a",
        "kinject.b",
        "kinject.a",
    ]
