"""DomainPack.from_package and register_lazily: a pack's module in a few lines."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from kinject.domains import DomainPack, register_lazily
from kinject.errors import PluginError
from kinject.plugins import Plugins

PACK_MODULE = """
from kinject.domains import DomainPack, register_lazily

PACK = DomainPack.from_package(__name__, description="a pack made for one test")
register_domains = PACK.hook()
register_cleaners = register_lazily("kinject_unittest.upper:UpperCleaner")
"""

CLEANER_MODULE = """
class UpperCleaner:
    name = "unittest-upper"
"""


@pytest.fixture
def pack_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An importable ``kinject_unittest`` package with a corpus, an eval set and a term list."""
    folder = tmp_path / "kinject_unittest"
    (folder / "corpus").mkdir(parents=True)
    (folder / "corpus" / "a.md").write_text("The Quell runs through Veloria.\n", encoding="utf-8")
    item = {
        "id": "q0",
        "question": "Which river?",
        "choices": ["the Quell", "the Teal"],
        "answer": 0,
    }
    (folder / "eval.jsonl").write_text(json.dumps(item) + "\n", encoding="utf-8")
    (folder / "terms.yaml").write_text("terms:\n  - term: quell\n", encoding="utf-8")
    (folder / "__init__.py").write_text(PACK_MODULE, encoding="utf-8")
    (folder / "upper.py").write_text(CLEANER_MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield folder
    for name in [m for m in sys.modules if m.split(".")[0] == "kinject_unittest"]:
        del sys.modules[name]


def _import_pack() -> ModuleType:
    import kinject_unittest  # type: ignore[import-not-found]

    module: ModuleType = kinject_unittest
    return module


def test_from_package_follows_the_layout(pack_package: Path) -> None:
    pack: DomainPack = _import_pack().PACK
    assert (pack.name, pack.distribution) == ("unittest", "kinject-unittest")
    assert pack.version == ""  # not installed: no version to read
    assert pack.corpus == pack_package / "corpus" and pack.eval == pack_package / "eval.jsonl"
    assert pack.terms == pack_package / "terms.yaml"
    assert pack.rubric is None and pack.recipe is None  # absent files are left out
    assert pack.summary() == {"terms": 1, "corpus_files": 1, "eval_items": 1, "rubric_criteria": 0}


def test_keywords_win_over_the_layout(pack_package: Path) -> None:
    _import_pack()
    recipe = pack_package / "other.yaml"
    pack = DomainPack.from_package(
        "kinject_unittest", "d", name="vel", version="9", recipe=recipe, extra={"languages": ["en"]}
    )
    assert (pack.name, pack.distribution, pack.version) == ("vel", "kinject-vel", "9")
    assert pack.recipe == recipe and pack.extra == {"languages": ["en"]}


def test_installed_pack_reads_its_distribution_version() -> None:
    from importlib import metadata

    import kinject_legal

    assert kinject_legal.PACK.version == metadata.version("kinject-legal")


def test_hooks_register_the_pack_and_its_plugins(
    pack_package: Path, kinject_plugins: Plugins, register_plugin: Callable[..., Any]
) -> None:
    module = _import_pack()
    register_plugin(module, name="unittest")
    assert kinject_plugins.domains().get("unittest").obj is module.PACK
    # nothing of the cleaner is imported before the registry is built
    assert "kinject_unittest.upper" not in sys.modules
    entry = kinject_plugins.registry("cleaner").get("unittest-upper")
    assert entry.obj.__module__ == "kinject_unittest.upper" and entry.plugin == "unittest"


@pytest.mark.parametrize("target", ["kinject_nowhere.mod:Thing", "kinject.domains:NoSuchThing"])
def test_a_bad_target_names_itself(target: str) -> None:
    hook = register_lazily(target)
    with pytest.raises(PluginError, match=f"cannot import plugin '{target}'"):
        hook(lambda *a, **k: None)
