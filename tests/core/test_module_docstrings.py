"""Every module of the engine and the builtin plugins opens with a line saying what it is for."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(p for folder in ("core", "plugins") for p in (ROOT / folder).rglob("*.py"))


def first_line(path: Path) -> str:
    """The first line of the module's docstring, or "" when it has none."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def test_modules_are_found() -> None:
    assert len(MODULES) > 100  # the glob reaches both source folders


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_says_what_it_is_for(path: Path) -> None:
    line = first_line(path)
    where = path.relative_to(ROOT)
    assert len(line.split()) >= 4, f"{where}: the first line should say what the module is for"


def test_a_module_without_a_docstring_is_caught(tmp_path: Path) -> None:
    bare = tmp_path / "bare.py"
    bare.write_text("import os\n", encoding="utf-8")
    assert first_line(bare) == ""
