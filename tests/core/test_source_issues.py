"""A source reports a skipped part of an input through itself (``self.report_issue``)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kinject import hookimpl
from kinject.components import Source
from kinject.config import RunConfig
from kinject.context import RunContext
from kinject.ingest import ingest, report_issue
from kinject.plugins import Plugins
from kinject.records import Record


class RowsSource(Source):
    """``*.rows``: one Record per line; an empty line is a skipped row."""

    name = "rows"
    extensions = (".rows",)

    def read(self, uri: str) -> Iterator[Record]:
        lines = Path(uri).read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            if line.strip():
                yield Record(text=line, source={"uri": uri, "row": number})
            else:
                self.report_issue("malformed_row", "the row is empty", f"{uri}#row={number}")


class OldRowsSource(RowsSource):
    """The same, written against 0.1: the module-level ``report_issue``."""

    name = "old-rows"
    extensions = (".oldrows",)

    def read(self, uri: str) -> Iterator[Record]:
        for number, line in enumerate(Path(uri).read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                yield Record(text=line, source={"uri": uri, "row": number})
            else:
                report_issue("malformed_row", "the row is empty", f"{uri}#row={number}")


class _Plugin:
    @hookimpl
    def register_sources(self, register: Callable[..., Any]) -> None:
        register(RowsSource)
        register(OldRowsSource)


def _ingest(
    tmp_path: Path, plugins: Plugins, files: list[Path], workers: int
) -> tuple[list[str], list[dict[str, Any]]]:
    """The texts of the Records, and the quarantine's entries."""
    config = RunConfig(sources={"ingest": {"workers": workers}})
    run_dir = tmp_path / f"run-{workers}"
    context = RunContext(run_dir=run_dir, config=config, plugins=plugins, show_progress=False)
    texts = [r.text for r in ingest([str(f) for f in files], context)]
    lines = (run_dir / "quarantine.jsonl").read_text(encoding="utf-8").splitlines()
    return texts, [json.loads(line) for line in lines]


@pytest.mark.parametrize("workers", [0, 1])
def test_each_input_quarantines_only_its_own_skipped_parts(
    tmp_path: Path, kinject_plugins: Plugins, register_plugin: Callable[..., Any], workers: int
) -> None:
    register_plugin(_Plugin(), name="rows")
    first, second = tmp_path / "a.rows", tmp_path / "b.rows"
    first.write_text("a1\n\na3\n", encoding="utf-8")
    second.write_text("b1\n", encoding="utf-8")
    texts, entries = _ingest(tmp_path, kinject_plugins, [first, second], workers)
    assert texts == ["a1", "a3", "b1"]
    shown = [(e["plugin"], e["reason"], e["uri"]) for e in entries]
    assert shown == [("rows", "malformed_row", f"{first}#row=2")]


def test_the_old_module_function_still_quarantines_and_warns(
    tmp_path: Path, kinject_plugins: Plugins, register_plugin: Callable[..., Any]
) -> None:
    register_plugin(_Plugin(), name="rows")
    old = tmp_path / "a.oldrows"
    old.write_text("a1\n\na3\n", encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        texts, entries = _ingest(tmp_path, kinject_plugins, [old], 0)
    assert texts == ["a1", "a3"]
    assert [(e["plugin"], e["reason"]) for e in entries] == [("old-rows", "malformed_row")]
    deprecations = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    assert any("self.report_issue" in message for message in deprecations)


def test_a_source_used_on_its_own_keeps_its_issues(tmp_path: Path) -> None:
    path = tmp_path / "a.rows"
    path.write_text("\nx\n", encoding="utf-8")
    source = RowsSource()
    assert [r.text for r in source.read(str(path))] == ["x"]
    assert [(i.reason, i.uri) for i in source.issues] == [("malformed_row", f"{path}#row=1")]
