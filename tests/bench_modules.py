"""Loading a ``bench/`` script as a module in a test (the bench folder is not a package)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def load_bench(path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The script at ``path`` as module ``name``, its folder on ``sys.path`` (its siblings import
    through it) and in ``sys.modules`` (dataclasses look their module up) for this test only."""
    monkeypatch.syspath_prepend(str(path.parent))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module
